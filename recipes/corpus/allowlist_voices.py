"""Recorded speech of issue 20's game packages: the voice lines kept, grouped by speaker.

Each speaker is one ``recording`` (so a voice never spans two splits); short takes are joined into utterance
groups of a few seconds. Genders were measured, not guessed from names: median F0 by pYIN over a few takes per
speaker (0 A.D. civilians: female 196-235 Hz, male 104-167 Hz, the Persian man shouting at 137-201 Hz;
Warzone 2100's announcer 198-239 Hz and its taunt voices 84/91 Hz (male) and 228-253 Hz (female); Trigger
Rally's co-drivers Paula 213 Hz and Tim 108 Hz; FlightGear's TCAS voice 179 Hz and its GPWS voice 113 Hz).
The laughs in Warzone's taunts are class ``laughter`` instead (allowlist_games).
"""


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GAME_VOICES = {  # package -> [(speaker, label, folder under the media root, files)]; a speaker is a recording
    "0ad-data": [
        (
            "greek-female",
            "speech_female",
            "audio/voice/greek/civ/",
            _names(
                "civ_female_attack_1 civ_female_attack_2 civ_female_build_1 civ_female_build_2 "
                "civ_female_fish_1 civ_female_fish_2 civ_female_garrison_1 civ_female_garrison_2 "
                "civ_female_gather_together_1 civ_female_gather_together_2 civ_female_go_out_against_1 "
                "civ_female_go_out_against_2 civ_female_heal_1 civ_female_heal_2 civ_female_herd_1 "
                "civ_female_herd_2 civ_female_hunt_1 civ_female_march_1 civ_female_march_2 "
                "civ_female_my_lord_1 civ_female_my_lord_2 civ_female_repair_1 civ_female_repair_2 "
                "civ_female_retreat_1 civ_female_retreat_2 civ_female_walk_1 civ_female_walk_2 "
                "civ_female_what_is_it_1 civ_female_what_is_it_2 civ_female_what_is_it_3 "
                "civ_female_work_land_1 civ_female_work_land_2"
            ),
        ),
        (
            "latin-female",
            "speech_female",
            "audio/voice/latin/civ/",
            _names(
                "civ_female_attack_1 civ_female_build_1 civ_female_fish_1 civ_female_garrison_1 "
                "civ_female_gather_together_1 civ_female_go_out_against_1 civ_female_heal_1 "
                "civ_female_hello_1 civ_female_herd_1 civ_female_hunt_1 civ_female_my_lord_1 "
                "civ_female_repair_1 civ_female_walk_1 civ_female_what_is_it_1 civ_female_work_land_1"
            ),
        ),
        (
            "latin-male",
            "speech_male",
            "audio/voice/latin/civ/",
            _names(
                "civ_male_attack_1 civ_male_build_1 civ_male_fight_1 civ_male_fish_1 "
                "civ_male_garrison_1 civ_male_gather_together_1 civ_male_go_out_against_1 "
                "civ_male_heal_1 civ_male_hello_1 civ_male_herd_1 civ_male_hunt_1 civ_male_march_1 "
                "civ_male_my_lord_1 civ_male_repair_1 civ_male_retreat_1 civ_male_walk_1 "
                "civ_male_what_is_it_1 civ_male_work_land_1"
            ),
        ),
        (
            "napatan-female",
            "speech_female",
            "audio/voice/napatan/civ/",
            _names(
                "civ_female_attack_01 civ_female_attack_02 civ_female_attack_03 civ_female_build_01 "
                "civ_female_build_02 civ_female_build_03 civ_female_fish_01 civ_female_fish_02 "
                "civ_female_fish_03 civ_female_garrison_01 civ_female_garrison_02 "
                "civ_female_garrison_03 civ_female_gather_01 civ_female_gather_02 "
                "civ_female_go_out_against_01 civ_female_go_out_against_02 civ_female_heal_01 "
                "civ_female_heal_02 civ_female_heal_03 civ_female_herd_01 civ_female_herd_02 "
                "civ_female_hunt_01 civ_female_hunt_02 civ_female_hunt_03 civ_female_march_01 "
                "civ_female_my_lord_01 civ_female_repair_01 civ_female_repair_02 civ_female_repair_03 "
                "civ_female_retreat_01 civ_female_retreat_02 civ_female_walk_01 civ_female_walk_02 "
                "civ_female_what_is_it_01 civ_female_what_is_it_02 civ_female_what_is_it_03 "
                "civ_female_work_land_01 civ_female_work_land_02"
            ),
        ),
        (
            "napatan-male",
            "speech_male",
            "audio/voice/napatan/civ/",
            _names(
                "civ_male_attack_01 civ_male_attack_02 civ_male_attack_03 civ_male_attack_04 "
                "civ_male_attack_05 civ_male_build_01 civ_male_build_02 civ_male_build_03 "
                "civ_male_garrison_01 civ_male_garrison_02 civ_male_garrison_03 civ_male_gather_01 "
                "civ_male_gather_02 civ_male_go_out_against_01 civ_male_go_out_against_02 "
                "civ_male_heal_01 civ_male_heal_02 civ_male_march_01 civ_male_my_lord_01 "
                "civ_male_repair_01 civ_male_repair_02 civ_male_repair_03 civ_male_repair_04 "
                "civ_male_walk_01 civ_male_walk_02 civ_male_walk_03"
            ),
        ),
        (
            "persian-female",
            "speech_female",
            "audio/voice/persian/civ/",
            _names(
                "civ_female_I_will_go_1 civ_female_attack_1 civ_female_build_1 "
                "civ_female_by_your_order_1 civ_female_fish_1 civ_female_forward_1 civ_female_forward_2 "
                "civ_female_garrison_1 civ_female_gather_1 civ_female_heal_1 civ_female_hello_1 "
                "civ_female_hello_2 civ_female_hunt_1 civ_female_mine_1 civ_female_my_king_1 "
                "civ_female_orders_1 civ_female_ready_1 civ_female_repair_1 civ_female_to_war_1 "
                "civ_female_what_is_it_1 civ_female_wood_1 civ_female_work_land_1 civ_female_yes_1 "
                "civ_female_your_soldier_1"
            ),
        ),
        (
            "persian-male",
            "speech_male",
            "audio/voice/persian/civ/",
            _names(
                "civ_male_I_will_go_1 civ_male_attack_1 civ_male_build_1 civ_male_by_your_order_1 "
                "civ_male_fish_1 civ_male_forward_1 civ_male_forward_2 civ_male_garrison_1 "
                "civ_male_gather_1 civ_male_heal_1 civ_male_hello_1 civ_male_hello_2 civ_male_hunt_1 "
                "civ_male_mine_1 civ_male_my_king_1 civ_male_orders_1 civ_male_ready_1 "
                "civ_male_repair_1 civ_male_to_war_1 civ_male_what_is_it_1 civ_male_wood_1 "
                "civ_male_work_land_1 civ_male_yes_1 civ_male_your_soldier_1"
            ),
        ),
    ],
    "warzone2100-data": [
        (
            "announcer",
            "speech_female",
            "audio/memressp/console/",
            _names(
                "pcv413 pcv414 pcv415 pcv416 pcv417 pcv418 pcv419 pcv420 pcv421 pcv422 pcv423 pcv424 "
                "pcv425 pcv426 pcv427 pcv428 pcv429 pcv480 pcv481 pcv482 pcv484 pcv485 pcv486 "
                "power-transferred"
            ),
        ),
        (
            "announcer",
            "speech_female",
            "audio/memressp/detect/",
            _names(
                "pcv373 pcv374 pcv375 pcv376 pcv377 pcv378 pcv379 pcv380 pcv381 pcv382 pcv383 pcv384 "
                "pcv385 pcv386 pcv387 pcv388"
            ),
        ),
        (
            "announcer",
            "speech_female",
            "audio/memressp/missmesg/",
            _names(
                "pcv448 pcv449 pcv450 pcv451 pcv452 pcv453 pcv454 pcv455 pcv456 pcv457 pcv458 pcv459 "
                "pcv460 pcv461 pcv462 pcv463 pcv464 pcv465 pcv466 pcv467 pcv468 pcv469 pcv470 pcv471 "
                "pcv472 pcv473 pcv474 pcv475 pcv476 pcv477 pcv478 pcv479 pcv480 pcv481 pcv482 pcv484 "
                "pcv485 pcv486"
            ),
        ),
        (
            "announcer",
            "speech_female",
            "audio/memressp/research/",
            _names(
                "pcv350 pcv351 pcv352 pcv353 pcv354 pcv355 pcv356 pcv357 pcv358 pcv359 pcv360 pcv361 "
                "pcv362 pcv363 pcv364 pcv365"
            ),
        ),
        (
            "announcer",
            "speech_female",
            "audio/extra/",
            _names(
                "lndgzne lz nmedeted pcv607 pcv608 pcv609 pcv610 pcv611 pcv612 pcv613 pcv614 pcv615 "
                "pcv616 pcv617 pcv618 pcv619 pcv620 pcv621 pcv622 pcv623 pcv624 pcv625 pcv626 pcv627 "
                "pcv628 pcv629 pcv630 pcv631 pcv632 pcv633 pcv634 pcv635 pcv636 pcv637 pcv638 pcv639 "
                "pcv640 pcv641 pcv642 pcv643 pcv644 pcv645 pcv646 pcv647 pcv648 pcv649 pcv650 pcv651 "
                "pcv651a pcv652 pcv653 pcv654 pcv655 pcv656 pcv657 pcv665"
            ),
        ),
        (
            "announcer",
            "speech_female",
            "audio/proxmessages/",
            _names("c1prox1 c1prox2 c1prox3 c1prox4 c1prox5 c1prox6 c2prox1"),
        ),
        (
            "announcer",
            "speech_female",
            "audio/tutorial/",
            _names(
                "tut1 tut10 tut11 tut12 tut13 tut14 tut15 tut16 tut17 tut18 tut19 tut2 tut20 tut21 "
                "tut22 tut23 tut24 tut25 tut26 tut27 tut28 tut29 tut3 tut30 tut31 tut32 tut33 tut34 "
                "tut35 tut36 tut37 tut38 tut39 tut4 tut40 tut41 tut42 tut43 tut44 tut45 tut46 tut47 "
                "tut48 tut49 tut5 tut50 tut51 tut52 tut53 tut54 tut55 tut56 tut57 tut58 tut59 tut6 "
                "tut60 tut61 tut62 tut63 tut64 tut65 tut66 tut67 tut68 tut69 tut7 tut70 tut71 tut72 "
                "tut73 tut74 tut75 tut78 tut8 tut81 tut82 tut83 tut84 tut9"
            ),
        ),
        (
            "announcer",
            "speech_female",
            "sequenceaudio/",
            _names("res_com res_droid res_pow res_strutech res_struttech res_systech res_weapons"),
        ),
        (
            "taunt1",
            "speech_male",
            "audio/taunts/taunt1/",
            _names(
                "awyalns1 cmgetit1 gmeover1 hadenuf1 nedpowr1 surprse1 tkethat1 tme2die1 trdofrd1 "
                "wanadie1 wntmore1"
            ),
        ),
        (
            "taunt2",
            "speech_female",
            "audio/taunts/taunt2/",
            _names(
                "awyalns2 cmgetit2 gmeover2 hadenuf2 nedpowr2 surprse2 tkethat2 tme2die2 trdofrd2 "
                "wanadie2 wntmore2"
            ),
        ),
        (
            "taunt3",
            "speech_male",
            "audio/taunts/taunt3/",
            _names(
                "awyalns3 cmgetit3 gmeover3 hadenuf3 nedpowr3 surprse3 tkethat3 tme2die3 trdofrd3 "
                "wanadie3 wntmore3"
            ),
        ),
    ],
    "trigger-rally-data": [
        (
            "paula",
            "speech_female",
            "sounds/codriver/paula/",
            _names(
                "chicane cut dirt dont easy finish flat grass gravel hairpin hard ice into jump left "
                "long medium mud over right sand snow square tarmac water"
            ),
        ),
        (
            "tim",
            "speech_male",
            "sounds/codriver/tim/",
            _names(
                "chicane cut dirt dont easy finish grass gravel hairpin hard ice into jump left long "
                "medium mud over right sand snow square tarmac water"
            ),
        ),
    ],
    "flightgear-data-base": [
        (
            "tcas-female",
            "speech_female",
            "Sounds/tcas/female/",
            _names(
                "adjust_vertical_speed clear climb climb_crossing climb_now descend descend_crossing "
                "descend_now do_not_climb do_not_descend increase_climb increase_descent "
                "maintain_vertical_speed monitor_vertical_speed test_fail test_ok traffic"
            ),
        ),
        (
            "gpws",
            "speech_male",
            "Sounds/mk-viii/",
            _names(
                "100-above 500-above altitude-10 altitude-100 altitude-1000 altitude-20 altitude-200 "
                "altitude-2500 altitude-30 altitude-300 altitude-40 altitude-400 altitude-50 "
                "altitude-500 application-data-base-failed bank-angle-inop bank-angle callouts-inop "
                "configuration-type-invalid dont-sink glideslope-inop glideslope gpws-inop minimums "
                "pull-up retard sink-rate terrain too-low-flaps too-low-gear too-low-terrain"
            ),
        ),
    ],
}
