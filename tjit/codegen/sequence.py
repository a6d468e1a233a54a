"""The sequence driver: one native entry that runs several compiled kernels in a row.

A call of a compiled function whose steps are native kernels on small arrays is
dominated by the cost of each ctypes call (~0.5 us). The driver makes it one:

    i32 tjit_run_sequence(i64* table)

`table` holds a count n, then n records `fn, nargs, arg0 .. arg(nargs-1)`: each
kernel's address and its arguments (the PyObject* of its arrays, then its int64
params) as 64-bit words. The driver calls `fn(args..., 0, END)` for each record in
order (the kernel ABI of `tjit.codegen.emit`; pointers and i64 travel the same way
in every ABI tjit targets) and stops at the first nonzero status, returning the
record's index + 1 (0: all ran). It is built once per machine, for the baseline
CPU of the host's architecture (it holds no vector code); its object code is kept
in `config.cache_dir` and loaded by `tjit.codegen.elf_loader` (MCJIT elsewhere).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import threading

import llvmlite.binding as llvm

import llvmlite

from tjit.codegen import elf_loader, target as targets
from tjit.codegen.cache import write_atomic
from tjit.config import config

MAX_ARGS = 32       # kernels with more arguments run through their own ctypes call
END = 1 << 62       # "to the end" for a kernel's split range
SYMBOL = "tjit_run_sequence"
_STATE = {}
_LOCK = threading.Lock()


def _driver_ir():
    cases, blocks, phis = [], [], []
    for n in range(1, MAX_ARGS + 1):
        lines = [f"c{n}:"]
        args = []
        for j in range(n):
            lines.append(f"  %c{n}p{j} = getelementptr i64, i64* %args, i64 {j}")
            lines.append(f"  %c{n}a{j} = load i64, i64* %c{n}p{j}")
            args.append(f"i64 %c{n}a{j}")
        sig = ", ".join(["i64"] * (n + 2))
        lines.append(f"  %c{n}f = inttoptr i64 %fp to i32 ({sig})*")
        lines.append(f"  %c{n}s = call i32 %c{n}f({', '.join(args)}, i64 0, i64 {END})")
        lines.append("  br label %after")
        blocks.append("\n".join(lines))
        cases.append(f"i64 {n}, label %c{n}")
        phis.append(f"[%c{n}s, %c{n}]")
    return f"""
define i32 @tjit_run_sequence(i64* %t) {{
entry:
  %n = load i64, i64* %t
  br label %loop
loop:
  %k = phi i64 [0, %entry], [%k1, %after]
  %p = phi i64 [1, %entry], [%pnext, %after]
  %done = icmp sge i64 %k, %n
  br i1 %done, label %ok, label %body
body:
  %fpp = getelementptr i64, i64* %t, i64 %p
  %fp = load i64, i64* %fpp
  %p1 = add i64 %p, 1
  %nap = getelementptr i64, i64* %t, i64 %p1
  %na = load i64, i64* %nap
  %p2 = add i64 %p, 2
  %args = getelementptr i64, i64* %t, i64 %p2
  %pnext = add i64 %p2, %na
  switch i64 %na, label %bad [ {' '.join(cases)} ]
{chr(10).join(blocks)}
after:
  %s = phi i32 {', '.join(phis)}
  %k1 = add i64 %k, 1
  %failed = icmp ne i32 %s, 0
  br i1 %failed, label %fail, label %loop
fail:
  %r = trunc i64 %k1 to i32
  ret i32 %r
bad:
  ret i32 -1
ok:
  ret i32 0
}}
"""


def sequence_driver(release_gil=True):
    """The driver as a ctypes function taking the table's address (built on
    first use, then shared by every function of the process). With
    `release_gil=False` the call keeps the GIL: cheaper for tiny work."""
    fn = _STATE.get("driver")
    if fn is not None:
        return fn if release_gil else _STATE["driver holding the GIL"]
    with _LOCK, targets.LLVM_LOCK:
        fn = _STATE.get("driver")
        if fn is None:
            key = _key()
            path = os.path.join(config.cache_dir, f"sequence-driver-{key.hex()[:32]}.bin")
            object_code = _load(path, key)
            if object_code is None:
                module = llvm.parse_assembly(_driver_ir())
                module.verify()
                object_code = _machine().emit_object(module)
                _store(path, key, object_code)
            try:        # a cached driver loads without LLVM (as kernels do)
                engine = elf_loader.ObjectImages()
                engine.add_object(object_code)
            except elf_loader.Unsupported:
                empty = llvm.parse_assembly("")
                engine = llvm.create_mcjit_compiler(empty, _machine())
                engine.remove_module(empty)     # nothing for the code generator to do
                engine.add_object_file(llvm.ObjectFileRef.from_data(object_code))
                engine.finalize_object()
            address = engine.get_function_address(SYMBOL)
            if not address:
                raise RuntimeError("the sequence driver did not load")
            fn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(address)
            fn.engine = engine      # the machine code lives as long as the function
            held = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(address)
            held.engine = engine
            _STATE["driver holding the GIL"] = held
            _STATE["driver"] = fn
    return fn if release_gil else _STATE["driver holding the GIL"]


def _machine():
    """A target machine of the host's baseline CPU, for the JIT's code model."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm.Target.from_triple(llvm.get_process_triple()).create_target_machine(
        opt=0, jit=True)


def _key():
    """What the driver's object code depends on: this module's source (which
    writes the IR; hashing it is cheaper than building the IR on every start),
    the process's triple and llvmlite's version. 32 bytes."""
    h = hashlib.sha256()
    with open(__file__, "rb") as f:
        h.update(f.read())
    for part in (llvm.get_process_triple(), llvmlite.__version__):
        h.update(b"\0" + part.encode())
    return h.digest()


def _load(path, key):
    """The object code stored at `path`, or None unless the entry checks out and
    carries `key` (an entry copied from another key is rebuilt, never linked)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    digest, stored_key, object_code = data[:32], data[32:64], data[64:]
    if stored_key != key or hashlib.sha256(stored_key + object_code).digest() != digest:
        return None
    return object_code


def _store(path, key, object_code):
    """Keep the driver beside the kernel cache (a failure only costs a rebuild)."""
    try:
        write_atomic(path, hashlib.sha256(key + object_code).digest() + key + object_code)
    except OSError:
        pass
