"""`python -m monitor.cli`: the same as the `sitwell` command (the systemd unit starts it so)."""

from monitor.cli.main import main

main()
