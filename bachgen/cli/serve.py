"""``bachgen serve``: the page on several Streamlit replicas behind HAProxy, until interrupted.

Each browser stays on one replica (a cookie the balancer sets), so its session, takes and
uploads are where it left them; :mod:`bachgen.replicas` does the work and docs/serving.md
explains it. ``--print-config`` prints the balancer's configuration for the options and
exits (``deploy/haproxy.cfg`` is the one for the defaults). One server without a balancer
is ``make run``; ``--replicas 1`` is one replica behind the balancer, as a deployment that
may grow.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..replicas import (
    MAX_REPLICAS,
    ReplicaConfig,
    Replicas,
    balancer_config,
    interrupted_by_signals,
)


def add_parsers(commands: Any) -> list[argparse.ArgumentParser]:
    """Register ``bachgen serve``."""
    p = commands.add_parser("serve", help="serve the page from several replicas behind a load "
                                          "balancer (HAProxy), each browser kept on one")
    p.add_argument("--replicas", type=int, default=ReplicaConfig.replicas,
                   help=f"Streamlit servers to run, 1 to {MAX_REPLICAS} (about one per core; "
                        f"default {ReplicaConfig.replicas})")
    p.add_argument("--port", type=int, default=ReplicaConfig.port,
                   help=f"the port listeners open: the balancer's (default {ReplicaConfig.port})")
    p.add_argument("--host", default=ReplicaConfig.host,
                   help="the address the balancer listens on (default 0.0.0.0, every interface; "
                        "127.0.0.1: this machine only)")
    p.add_argument("--first-replica-port", type=int, default=ReplicaConfig.first_replica_port,
                   help="replica i listens on this port + i - 1, on 127.0.0.1 only "
                        f"(default {ReplicaConfig.first_replica_port})")
    p.add_argument("--log-dir", help="write each replica's log and the balancer's here (default: a "
                                     "temporary folder, removed when everything stops cleanly)")
    p.add_argument("--print-config", action="store_true",
                   help="print the balancer's configuration for these options and exit")
    p.set_defaults(handler=cmd_serve)
    return [p]


def say(line: str) -> None:
    """One of serve's progress lines, on stderr."""
    print(f"bachgen: {line}", file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    """``bachgen serve``: start everything, say where to open the page, serve until Ctrl-C or
    SIGTERM (then stop everything and exit 0). A replica or the balancer stopping by itself
    stops the rest and ends the command with an error naming its log."""
    config = ReplicaConfig(replicas=args.replicas, port=args.port, host=args.host,
                           first_replica_port=args.first_replica_port)
    if args.print_config:
        print(balancer_config(config), end="")
        return 0
    with interrupted_by_signals():
        try:
            with Replicas(config, log_dir=args.log_dir, progress=say) as served:
                say(f"{config.replicas} replica(s) behind HAProxy: open {served.url} "
                    f"(from other machines: this machine's address, port {config.port})"
                    if config.host == "0.0.0.0" else
                    f"{config.replicas} replica(s) behind HAProxy: open {served.url}")
                say(f"logs in {served.log_dir}; Ctrl-C stops everything")
                served.wait()
        except KeyboardInterrupt:
            say("stopped")
    return 0
