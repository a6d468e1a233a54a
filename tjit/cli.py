"""The `tjit` command: `tjit dump SCRIPT.py [--stage STAGE] [--format svg] [--function NAME]`,
`tjit dump --passes`, `tjit cache info`, `tjit cache clear`."""
from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
import warnings
from .codegen import cache
from . import graph_cache
from .config import config
from .function import COMPILE_HOOKS
from .printing_dot import GRAPHVIZ_HINT
from .runtime.dump import PICTURE_STAGES, dump_function, dump_passes, dump_picture


def _parser():
    p = argparse.ArgumentParser(prog="tjit", description="tjit: Theano programs compiled "
                                "to native code through LLVM.")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="run a script and print a stage of every function it "
                       "compiles", description="Run SCRIPT (with ARGS) and print, for each "
                       "function it compiles, the stage asked for: graph (as built), opt "
                       "(rewritten, with the rewrites applied in order), loop (loop-level "
                       "IR), llvm (optimized LLVM IR) or asm (machine code). With --passes, "
                       "print the graph-rewrite pipeline instead.")
    d.add_argument("script", nargs="?", help="a Python script using tjit (other arguments "
                   "are passed on to it)")
    d.add_argument("--passes", action="store_true",
                   help="print the pass pipeline (position, name, tags) in the order the "
                   "passes run, and exit")
    d.add_argument("--stage", default="opt", choices=("graph", "opt", "loop", "llvm", "asm"))
    d.add_argument("--format", default="text", choices=("text", "svg", "png", "pdf", "dot"),
                   help="text (default) prints the stage; svg, png, pdf or dot draw the "
                   "graph of stage graph or opt to a file per function (Graphviz's `dot` "
                   "renders; without it the .dot text is written)")
    d.add_argument("--outdir", default=".", metavar="DIR",
                   help="where --format pictures go (default: the current directory)")
    d.add_argument("--function", default=None, metavar="NAME",
                   help="only functions compiled with name=NAME")
    c = sub.add_parser("cache", help="the on-disk cache of compiled kernels")
    c.add_argument("action", choices=("info", "clear"),
                   help="info: where it is and what it holds; clear: delete every entry")
    return p


def _cache(ns):
    if ns.action == "clear":
        print(f"removed {cache.clear()} entries from {cache.cache_dir()}")
        print(f"removed {graph_cache.clear()} entries from {graph_cache.cache_dir()}")
        return 0
    count, size, root = cache.info()
    print(f"cache directory: {root}\nentries: {count}\nsize: {size / 1e6:.1f} MB\n"
          f"limit: {config.cache_size_mb:g} MB (tjit.config.cache_size_mb; least recently "
          "used entries are removed past it)")
    return 0


def _dump(ns):
    if ns.passes:
        sys.stdout.write(dump_passes())
        return 0
    if ns.format != "text" and ns.stage not in PICTURE_STAGES:
        print(f"tjit dump: --format {ns.format} draws the stages {', '.join(PICTURE_STAGES)}, "
              f"not {ns.stage}", file=sys.stderr)
        return 2
    if ns.script is None:
        print("tjit dump: give a SCRIPT to run (or --passes)", file=sys.stderr)
        return 2
    if not os.path.isfile(ns.script):
        print(f"tjit dump: no such file: {ns.script}", file=sys.stderr)
        return 2
    count = [0]

    def on_compile(fn):
        if ns.function is not None and fn.name != ns.function:
            return
        count[0] += 1
        title = fn.name or f"function {count[0]}"
        if ns.format != "text":
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in title)
            out = os.path.join(ns.outdir, f"{count[0]:02d}-{safe}.{ns.stage}.{ns.format}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")     # the missing-Graphviz hint: once, below
                written = dump_picture(fn, ns.stage, ns.format, out)
            if written != out and count[0] == 1:
                print("tjit dump: " + GRAPHVIZ_HINT.format(fmt=ns.format, dot=written, out=out),
                      file=sys.stderr)
            sys.stdout.write(f"=== {title} ({ns.stage}) === {written}\n")
            sys.stdout.flush()
            return
        sys.stdout.write(f"=== {title} ({ns.stage}) ===\n{dump_function(fn, ns.stage)}\n")
        sys.stdout.flush()

    COMPILE_HOOKS.append(on_compile)
    old_argv = sys.argv
    sys.argv = [ns.script] + list(ns.args)
    try:
        runpy.run_path(ns.script, run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        # The script's own traceback, without tjit's CLI frames on top.
        etype, value, tb = sys.exc_info()
        script = os.path.abspath(ns.script)
        first = tb
        while first is not None and first.tb_frame.f_code.co_filename != script:
            first = first.tb_next
        tb = first or tb
        traceback.print_exception(etype, value, tb)
        return 1
    finally:
        sys.argv = old_argv
        COMPILE_HOOKS.remove(on_compile)
    if count[0] == 0:
        print("tjit dump: the script compiled no function"
              + (f" named {ns.function!r}" if ns.function else ""), file=sys.stderr)
    return 0


def main(argv=None):
    ns, extra = _parser().parse_known_args(argv)
    ns.args = extra  # anything else is passed on to the script
    if ns.command == "dump":
        return _dump(ns)
    if ns.command == "cache":
        if ns.args:
            print(f"tjit cache: unexpected arguments {ns.args}", file=sys.stderr)
            return 2
        return _cache(ns)
    return 2


if __name__ == "__main__":
    sys.exit(main())
