"""Call stubs: a plan's whole call as one small Python function.

For a function without shared variables, updates or defaults that need
restoring, whose plan (tjit.runtime.call_plan) is one run of native steps,
`make_stub` writes the call out for that plan: each argument checked inline
(exactly as `CompiledFunction._call` checks it, the spec's `filter` otherwise),
the plan's input shapes compared, the outputs allocated, the driver's table
filled and the driver called. Anything else (other arity, other shapes, a plan
in use by another thread, a kernel's nonzero status) hands the already
converted arguments to `fallback` (the function's `_call`), which runs the
general checks and path and raises what they raise. Stubs hold no state of
their own: the function regenerates them with its plans.
"""
from __future__ import annotations

import numpy as np

from . import native_thunk


def eligible(fn, plan):
    """Whether `plan` of `fn` can be written as a stub."""
    alloc_slots = {s for s, *_ in plan.allocs} | {s for s, *_ in plan.views}
    return (fn._positional is not None and not fn.shared_slots and not fn.locks
            and not fn.update_slots and not fn.refeed_specs and fn.output_keys is None
            and plan.single is not None and not plan.owned_read
            and not any(fn.copy_output)
            and len(set(fn.output_slots)) == len(fn.output_slots)
            and all(s in alloc_slots for s in fn.output_slots))


def make_stub(fn, plan, driver, fallback):
    """The stub `stub(args)` of `plan` (see the module doc); `driver` runs the
    plan's table."""
    env = {"ndarray": np.ndarray, "asarray": np.asarray, "empty": np.empty,
           "table": plan.table, "driver": driver, "lock": fn._plan_lock,
           "fallback": fallback, "nt": native_thunk, "MAX_WORK": plan.max_work}
    n = len(fn._positional)
    names = [f"a{i}" for i in range(n)]
    local = {}
    lines = ["def stub(args):",
             f"    if len(args) != {n} or MAX_WORK >= nt.MIN_PARALLEL_ELEMENTS:",
             "        return fallback(args, {})"]
    if n:
        lines.append(f"    {', '.join(names)}, = args")
    shape_checks = []
    for i, (slot, spec, dtype, ndim, plain, f64) in enumerate(fn._positional):
        a = names[i]
        env[f"D{i}"], env[f"F{i}"] = dtype, spec.filter
        local[slot] = a
        exact = f"type({a}) is ndarray and {a}.dtype is D{i} and {a}.ndim == {ndim}"
        if plain:
            lines.append(f"    if {exact} and {a}.flags.aligned:")
            lines.append("        pass")
            if f64:
                lines.append(f"    elif type({a}) is float:")
                lines.append(f"        {a} = asarray({a})")
            lines.append("    else:")
        else:
            lines.append("    if True:")
        lines.append(f"        {a} = F{i}({a})")
        if ndim:
            env[f"S{i}"] = None     # filled below from the plan's key
            shape_checks.append((i, slot))
    bound = f"({', '.join(names)},)" if n else "()"
    key = plan.key
    for (i, slot), shape in zip(shape_checks, key):
        env[f"S{i}"] = shape
    if shape_checks:
        cond = " or ".join(f"{names[i]}.shape != S{i}" for i, _ in shape_checks)
        lines.append(f"    if {cond}:")
        lines.append(f"        return fallback({bound}, {{}})")
    lines.append("    if not lock.acquire(False):")
    lines.append(f"        return fallback({bound}, {{}})")
    lines.append("    try:")
    for k, (slot, shape, dtype) in enumerate(plan.allocs):
        env[f"OS{k}"], env[f"OD{k}"] = shape, dtype
        local[slot] = f"o{k}"
        lines.append(f"        o{k} = empty(OS{k}, OD{k})")
    for k, (slot, shape, dtype, view_shape, positions) in enumerate(plan.views):
        env[f"VS{k}"], env[f"VD{k}"], env[f"VV{k}"] = shape, dtype, view_shape
        local[slot] = f"v{k}"
        lines.append(f"        b{k} = empty(VS{k}, VD{k})")
        lines.append(f"        v{k} = b{k}.reshape(VV{k})")
        for pos in positions:
            lines.append(f"        table[{pos}] = id(b{k})")
    for pos, slot in plan.pre:
        lines.append(f"        table[{pos}] = id({local[slot]})")
    lines.append(f"        failed = driver({plan.single})")
    lines.append("    finally:")
    lines.append("        lock.release()")
    lines.append("    if failed:")
    lines.append(f"        return fallback({bound}, {{}})")
    outs = [local[s] for s in fn.output_slots]
    lines.append(f"    return {outs[0]}" if fn.unpack_single else f"    return [{', '.join(outs)}]")
    exec(compile("\n".join(lines), f"<tjit call stub {fn.name or ''}>", "exec"), env)
    return env["stub"]

