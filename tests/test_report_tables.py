"""The evaluation report's tables checked by content: every system, benchmark and metric gets a different
number, made into item rows, summarised and tabulated by flowsep.evaluation.report; each number must be found in
the row of its system and the column of its benchmark and metric (named here independently of the report)."""

import csv

import pytest

from flowsep.evaluation.report import system_results, table_one, table_three, write_items_csv
from flowsep.evaluation.runner import System

# the report's column names (without the arrow) -> the per-item field they must show
NAMES = {
    "FAD": "fad", "CLAPScore": "clap_score", "CLAPScore_A": "clap_score_a", "SI-SDR": "si_sdr",
    "SI-SDRi": "si_sdri", "SDR": "sdr", "SDRi": "sdri",
}  # fmt: skip
ITEM_FIELDS = ("clap_score", "clap_score_a", "si_sdr", "si_sdri", "sdr", "sdri")
SYSTEMS = [System(None), System(1), System(5)]
BENCHMARKS = ["esc50", "audiocaps"]


def expected(system: int, benchmark: int, name: str) -> float:
    """A number no other cell shares: hundreds the system, tens the metric, units the benchmark."""
    return 100.0 * system + 10.0 * (list(NAMES.values()).index(name) + 1) + benchmark + 0.25


def seconds(system: int, benchmark: int) -> float:
    return 0.5 + system + 2.0 * benchmark


def item_rows(system: int, benchmark: int) -> list[dict]:
    """Two items whose mean is the expected value (so a table of the first item's numbers fails)."""
    rows = []
    for offset in (-1.0, 1.0):
        row = {name: expected(system, benchmark, name) + offset for name in ITEM_FIELDS}
        row |= {"seconds": seconds(system, benchmark) + offset / 4, "nfe": SYSTEMS[system].steps}
        row |= {"benchmark": BENCHMARKS[benchmark], "system": SYSTEMS[system].name, "id": f"item{offset}"}
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def results() -> dict:
    return {
        name: {
            system.name: system_results(item_rows(s, b), fad=expected(s, b, "fad"))
            for s, system in enumerate(SYSTEMS)
        }
        for b, name in enumerate(BENCHMARKS)
    }


def parse(table: str) -> tuple[list[str], dict[str, list[str]]]:
    """A Markdown table -> its header cells, and each row's cells by its first cell."""
    lines = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.splitlines()]
    header, body = lines[0], lines[2:]
    assert all(len(row) == len(header) for row in body)
    return header, {row[0]: row for row in body}


def column_of(cell: str) -> tuple[int, str]:
    """``"esc50 SI-SDRi ↑"`` -> (benchmark index, per-item field)."""
    benchmark, label, _arrow = cell.split(" ")
    return BENCHMARKS.index(benchmark), NAMES[label]


def test_table_one_puts_every_number_in_its_systems_row_and_its_metrics_column(results):
    """Guards against two metric columns' labels swapped (or a label naming another metric), a benchmark's
    column showing another benchmark's numbers, rows of one system showing another's, and a table of the
    first item instead of the mean."""
    header, rows = parse(table_one(results, SYSTEMS))
    assert header[0] == "System" and list(rows) == [system.label for system in SYSTEMS]
    columns = [column_of(cell) for cell in header[1:]]
    for benchmark in range(len(BENCHMARKS)):  # Table I's metrics, each benchmark once
        assert [name for b, name in columns if b == benchmark] == [
            "fad", "clap_score", "clap_score_a", "si_sdr", "si_sdri", "sdri"
        ]  # fmt: skip
    for s, system in enumerate(SYSTEMS):
        for cell, (benchmark, name) in zip(rows[system.label][1:], columns):
            assert cell == f"{expected(s, benchmark, name):.2f}", (system.label, benchmark, name)


def test_table_three_puts_steps_nfe_time_and_metrics_in_their_columns(results):
    """Guards against the steps, NFE or time columns swapped or taken from another system, the time not
    weighted over the benchmarks' items, and metric columns of Table III labelled as another metric."""
    header, rows = parse(table_three(results, SYSTEMS))
    assert header[:3] == ["Steps", "NFE", "time / item (s) ↓"]
    assert list(rows) == ["1", "5"]  # the model's systems, not the mixture
    columns = [column_of(cell) for cell in header[3:]]
    assert {name for _, name in columns} == {"fad", "clap_score", "clap_score_a", "si_sdri"}
    for s, system in enumerate(SYSTEMS[1:], start=1):
        row = rows[str(system.steps)]
        assert row[1] == str(system.steps)  # one evaluation per step without guidance
        time = sum(seconds(s, b) for b in range(len(BENCHMARKS))) / len(BENCHMARKS)  # two items each
        assert row[2] == f"{time:.2f}"
        for cell, (benchmark, name) in zip(row[3:], columns):
            assert cell == f"{expected(s, benchmark, name):.2f}", (system.steps, benchmark, name)


def test_table_three_shows_a_dash_for_an_unknown_nfe_and_time():
    """Rows without timing or one NFE (guidance changes it mid-run, an old run folder): a dash, not a number."""
    rows = [{"si_sdri": 1.0, "benchmark": "b", "system": System(2).name, "id": "x"}]
    results = {"b": {System(2).name: system_results(rows, fad=None)}}
    header, table = parse(table_three(results, [System(2)]))
    assert table["2"][:4] == ["2", "–", "–", "1.00"] and header[3] == "b SI-SDRi ↑"


def test_items_csv_keeps_each_metric_in_its_column(tmp_path):
    """Guards against per-item CSV columns written under another metric's name or shifted by one."""
    rows = [row for s in range(len(SYSTEMS)) for row in item_rows(s, 0)]
    with open(write_items_csv(tmp_path / "items.csv", rows), newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(rows)
    for row, out in zip(rows, written):
        assert out["system"] == row["system"] and out["id"] == row["id"]
        for name in ITEM_FIELDS:
            assert float(out[name]) == pytest.approx(row[name])


def test_metric_vs_steps_plot_has_a_panel_per_metric_and_a_line_per_benchmark(results, tmp_path, monkeypatch):
    """The plot by content: one panel per metric present (time first) titled by its label, a log step axis
    ticked at the systems' steps, one marked line per benchmark with its numbers, the legend on the first panel,
    3.2 x 3 inches per panel at 100 dpi."""
    import matplotlib.image

    import flowsep.evaluation.report as report

    made = []

    class Recorded(report.Figure):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(report, "Figure", Recorded)
    path = report.plot_metric_vs_steps(results, SYSTEMS, tmp_path / "steps.png")
    (figure,) = made
    names = ["seconds_per_item", "fad", "clap_score", "clap_score_a", "si_sdri"]
    assert tuple(figure.get_size_inches()) == (3.2 * len(names), 3.0)
    assert type(figure.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    assert len(figure.axes) == len(names)
    for ax, name in zip(figure.axes, names):
        assert ax.get_title() == report.LABELS[name] and ax.title.get_fontsize() == 9
        assert ax.get_xlabel() == "steps" and ax.get_xscale() == "log"
        assert [label.get_text() for label in ax.get_xticklabels()] == ["1", "5"]
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == BENCHMARKS and {
            line.get_marker() for line in lines
        } == {"o"}
        for b, line in enumerate(lines):
            assert list(line.get_xdata()) == [1, 5]
            numbers = [seconds(s, b) if name == "seconds_per_item" else expected(s, b, name) for s in (1, 2)]
            assert list(line.get_ydata()) == pytest.approx(numbers)
    legend = figure.axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == BENCHMARKS
    assert legend.get_texts()[0].get_fontsize() == 8
    assert all(ax.get_legend() is None for ax in figure.axes[1:])
    assert matplotlib.image.imread(path).shape[:2] == (300, 320 * len(names))
