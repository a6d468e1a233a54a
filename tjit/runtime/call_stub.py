"""Call stubs: a plan's whole call as one small Python function.

For a function whose plan (tjit.runtime.call_plan) is one run of native steps,
`make_stub` writes the call out for that plan, in the order of the general path:
each argument checked inline (exactly as `CompiledFunction._call` checks it, the
spec's `filter` otherwise); the shared variables' locks taken (a function with
updates); their values read; the plan's input shapes compared; the outputs
allocated, the driver's table filled and the driver called; the updates
committed (copied where the general path copies); the locks released. Anything
else (other arity, other shapes, a plan in use by another thread, a kernel's
nonzero status) hands the already converted arguments to the function's own
call path (under the locks when they are held), which runs the general checks
and path and raises what they raise. A plan of one kernel is called directly
(no driver; its constant arguments in the stub's environment). Stubs hold no
state of their own: the function makes them again with its plans. Their text
names no shape, dtype or address (those are in their environment): the compiled
code is kept by text (`stub_code`) for the next function of the same structure.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import native_thunk
from .stub_code import code as _code


def eligible(fn, plan):
    """Whether `plan` of `fn` can be written as a stub."""
    known = set(fn.input_slots) | {s for s, _ in fn.shared_slots} | \
        {s for s, *_ in plan.allocs} | {s for s, *_ in plan.views}
    return (fn._positional is not None and not fn.refeed_specs and fn.output_keys is None
            and (plan.single is not None or plan.direct is not None) and not plan.owned_read
            and all(s in known for s in fn.output_slots + fn.update_slots))


# A one-kernel plan first calls its kernel directly (no driver to load: a
# process's first call is ~0.8 ms sooner), then, past this many calls, through
# the driver's table (~0.5 us less per call: one ctypes argument, not one per
# kernel argument).
DIRECT_CALLS = 64


def _upgrader(fn, plan):
    # weak: the stub must keep neither its function nor its plan alive
    fn_ref, plan_ref = weakref.ref(fn), weakref.ref(plan)

    def upgrade():
        f, p = fn_ref(), plan_ref()
        if f is not None and p is not None and f._plan_lock.acquire(False):
            try:
                if f._plans is not None and f._plans.get(p.key) is p:   # not dropped
                    p.use_table(f)
            finally:
                f._plan_lock.release()
    return upgrade


def make_stub(fn, plan, driver):
    """The stub `stub(args)` of `plan` (see the module doc); `driver` runs the
    plan's table."""
    env = {"ndarray": np.ndarray, "asarray": np.asarray, "empty": np.empty,
           "table": plan.table, "driver": driver, "plan_lock": fn._plan_lock,
           # weak: a function and its stub must not keep each other alive
           "inner": weakref.WeakMethod(fn._call),
           "outer": weakref.WeakMethod(fn._locked_call if fn.locks else fn._call),
           "nt": native_thunk, "MAX_WORK": plan.max_work,
           # the table names kernels by address: a stub running while its plan
           # is dropped (drop_plans) keeps their code loaded
           "KERNELS": [r[0] for g in plan.segments for r in getattr(g, "records", ())]}
    n = len(fn._positional)
    names = [f"a{i}" for i in range(n)]
    bound = f"({', '.join(names)},)" if n else "()"
    local = {}
    lines = ["def stub(args):",
             f"    if len(args) != {n} or MAX_WORK >= nt.MIN_PARALLEL_ELEMENTS:",
             "        return outer()(args, {})"]
    if n:
        lines.append(f"    {', '.join(names)}, = args")
    for i, (slot, spec, dtype, ndim, plain, f64) in enumerate(fn._positional):
        a = names[i]
        env[f"D{i}"], env[f"F{i}"] = dtype, spec.filter
        local[slot] = a
        if plain:
            lines.append(f"    if type({a}) is ndarray and {a}.dtype is D{i} and {a}.ndim == {ndim}"
                         f" and {a}.flags.aligned:")
            lines.append("        pass")
            if f64:
                lines.append(f"    elif type({a}) is float:")
                lines.append(f"        {a} = asarray({a})")
            lines.append("    else:")
            lines.append(f"        {a} = F{i}({a})")
        else:
            lines.append(f"    {a} = F{i}({a})")
    body = []           # runs under the shared variables' locks, if any
    for j, (slot, container) in enumerate(fn.shared_slots):
        env[f"C{j}"] = container
        local[slot] = f"c{j}"
        body.append(f"c{j} = C{j}.value")
    checks = []
    for k, (slot, shape) in enumerate(zip(fn._key_slots, plan.key)):
        env[f"S{k}"] = shape
        checks.append(f"{local[slot]}.shape != S{k}")
    if checks:
        body.append(f"if {' or '.join(checks)}:")
        body.append(f"    return inner()({bound}, {{}})")
    body.append("if not plan_lock.acquire(False):")
    body.append(f"    return inner()({bound}, {{}})")
    body.append("try:")
    for k, (slot, shape, dtype) in enumerate(plan.allocs):
        env[f"OS{k}"], env[f"OD{k}"] = shape, dtype
        local[slot] = f"o{k}"
        body.append(f"    o{k} = empty(OS{k}, OD{k})")
    direct = None if plan.direct is None else [f"A{j}" for j in range(len(plan.direct[1]))]
    for k, (slot, shape, dtype, view_shape, positions) in enumerate(plan.views):
        env[f"VS{k}"], env[f"VD{k}"], env[f"VV{k}"] = shape, dtype, view_shape
        local[slot] = f"v{k}"
        body.append(f"    b{k} = empty(VS{k}, VD{k})")
        body.append(f"    v{k} = b{k}.reshape(VV{k})")
        for pos in positions:
            if direct is None:
                body.append(f"    table[{pos}] = id(b{k})")
            else:
                direct[pos] = f"b{k}"
    if direct is None:
        body.extend(f"    table[{pos}] = id({local[slot]})" for pos, slot in plan.pre)
        env["SEQUENCE"] = plan.single
        body.append("    failed = driver(SEQUENCE)")
    else:
        # one kernel, called directly: its constant arguments from the environment
        for pos, slot in plan.pre:
            direct[pos] = local[slot]
        for j, a in enumerate(plan.direct[1]):
            if direct[j] == f"A{j}":
                env[f"A{j}"] = a
        body.append(f"    failed = driver({', '.join(direct)}, 0, END)")
        env["END"] = native_thunk.END
    body.append("finally:")
    body.append("    plan_lock.release()")
    body.append("if failed:")
    body.append(f"    return inner()({bound}, {{}})")
    # the same copies as CompiledFunction._finish: outputs first, then updates
    outs = [local[s] + (".copy()" if c else "") for s, c in zip(fn.output_slots, fn.copy_output)]
    for k, (slot, c) in enumerate(zip(fn.update_slots, fn.copy_update)):
        env[f"U{k}"] = fn.update_containers[k]
        body.append(f"u{k} = {local[slot]}{'.copy()' if c else ''}")
    if outs:
        body.append(f"result = {outs[0]}" if fn.unpack_single else f"result = [{', '.join(outs)}]")
    else:
        body.append("result = []")
    body.extend(f"U{k}.value = u{k}" for k in range(len(fn.update_slots)))
    if direct is not None:      # after DIRECT_CALLS calls, the driver's stub instead
        env["COUNT"], env["UPGRADE"] = [DIRECT_CALLS], _upgrader(fn, plan)
        body.append("COUNT[0] -= 1")
        body.append("if COUNT[0] <= 0:")
        body.append("    UPGRADE()")
    body.append("return result")
    if fn.locks:
        for k, lock in enumerate(fn.locks):
            env[f"L{k}"] = lock
            lines.append(f"    L{k}.acquire()")
        lines.append("    try:")
        lines.extend("        " + b for b in body)
        lines.append("    finally:")
        lines.extend(f"        L{k}.release()" for k in reversed(range(len(fn.locks))))
    else:
        lines.extend("    " + b for b in body)
    exec(_code("\n".join(lines)), env)
    return env["stub"]
