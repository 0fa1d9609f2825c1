"""Sub-commands of the ``flowsep`` command line; see :mod:`flowsep.cli`."""
