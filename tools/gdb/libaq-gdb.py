# libaq's gdb extension: the tasks of a loop, and the backtrace of a
# parked one. MIT licensed. Load it with
#
#     (gdb) source /usr/local/share/libaq/libaq-gdb.py
#
# (make install puts it there; in the source tree: tools/gdb/libaq-gdb.py).
# It needs libaq's debug information (the default build,
# RelWithDebInfo, has it).
#
#     aq-tasks [LOOP]   every task of LOOP not yet returned (default: the
#                       loop this thread runs), numbered, with its name,
#                       state and what it waits on
#     aq-bt N|TASK      the backtrace of task N of the last aq-tasks (or
#                       of the task at address TASK): of a parked task,
#                       from the registers its context switch saved; of a
#                       running one, from the thread that runs it
#
# On a core file: aq-tasks works; aq-bt needs a live process (it loads a
# task's registers into a thread). A core made by gdb's gcore lacks the
# task stacks when libaq guards them with MADV_GUARD_INSTALL (Linux
# 6.13+): run the program with AQ_STACK_GUARDS=mprotect, or take the
# kernel's core (ulimit -c unlimited; kill -ABRT).
#
# How aq-bt works: a parked task's context is a saved stack pointer, and
# above it (src/ctx/ctx_x86_64.S, ctx_aarch64.S) the callee-saved
# registers and the resume address. aq-bt loads them into the selected
# thread's registers, lets gdb unwind, and puts the thread's own back.
import os
import time

import gdb

STATES = {0: "ready", 1: "running", 2: "parked", 3: "done"}
NO_TIMER = (1 << 64) - 1
LAST = {"loop": None}  # the loop of the last aq-tasks, for aq-bt N


def _tasks(loop):
    """The aq_task * of loop that have not returned, oldest first."""
    task_t = gdb.lookup_type("aq_task")
    offset = next(f.bitpos for f in task_t.fields() if f.name == "all") // 8
    head = loop["tasks"].address
    node = loop["tasks"]["next"]
    out = []
    while node != head:
        t = (node.cast(gdb.lookup_type("char").pointer()) - offset).cast(
            task_t.pointer())
        if int(t["state"]) != 3:
            out.append(t)
        node = node["next"]
    return out


def _types():
    """libaq's types, which only its debug information gives."""
    try:
        # A user program built with -g knows aq_task as an incomplete
        # struct (aq.h keeps it opaque): only libaq's own information
        # gives its fields.
        if not any(f.name == "state"
                   for f in gdb.lookup_type("struct aq_task").fields()):
            raise gdb.error("aq_task has no fields")
        gdb.parse_and_eval("aq__thread_loop")["tasks"]
    except (gdb.error, TypeError):
        raise gdb.GdbError("libaq-gdb needs libaq's debug information (the "
                           "default build, RelWithDebInfo, has it; a "
                           "stripped libaq has not)")


def _current_loop():
    _types()
    loop = gdb.parse_and_eval("aq__thread_loop")
    if int(loop) == 0:
        raise gdb.GdbError("this thread runs no libaq loop: give one "
                           "(aq-tasks LOOP)")
    return loop


def _describe(t):
    try:
        return _describe_task(t)
    except gdb.MemoryError as e:
        return "unreadable (%s)" % e


def _describe_task(t):
    state = STATES.get(int(t["state"]), "?")
    name = t["name"].string() if int(t["name"]) else ""
    text = '%s %s' % ('"%s"' % name if name else "(no name)", state)
    if state == "parked":
        # Each waiter record names its wait and its object, as aq_loop_dump
        # prints them.
        n = int(t["nwaits"])
        clauses = []
        for i in range(n):
            w = t["waits"][i]
            name = gdb.parse_and_eval("aq__wait_names")[int(w["kind"])]
            if int(w["kind"]) == 0 or int(w["task"]) != int(t):
                # Zeros where the record lives, on the task's stack: a
                # gcore core without the guarded stacks (see the top).
                n, clauses = 1, ["a wait whose record this core lacks "
                                 "(gcore: see the top of libaq-gdb.py)"]
                break
            what = name.string()
            if int(w["on"]):
                what += " 0x%x" % int(w["on"])
            clauses.append(what)
        if n > 1:
            text += " on a select of %d clauses: " % n
        else:
            text += " on "
        text += " or ".join(clauses)
        if int(t["heap_idx"]) != NO_TIMER:
            text += deadline_text(int(t["deadline"]))
        else:
            text += ", no deadline"
    if int(t["cancelled"]):
        text += ", cancelled"
        if int(t["shielded"]):
            text += " (shielded)"
    if int(t["compact"]):
        text += ", compact"
    return text


def deadline_text(deadline):
    """As aq_loop_dump words it ("deadline in 9.970 s") when the program
    runs on this machine: aq_now is CLOCK_MONOTONIC, which every process
    here shares. A core file's clock is gone: the deadline as a figure."""
    pid = gdb.selected_inferior().pid
    if pid > 0 and os.path.exists("/proc/%d" % pid):
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        return ", deadline in %.3f s" % ((deadline - now) / 1e9)
    return ", deadline at %d ns on aq_now's clock" % deadline


class AqTasks(gdb.Command):
    """aq-tasks [LOOP]: the tasks of LOOP (default: this thread's loop)."""

    def __init__(self):
        super().__init__("aq-tasks", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        _types()
        if not arg:
            loop = _current_loop()
            tasks = _tasks(loop)
        else:
            # A bare address (as aq_loop_dump prints it) is an integer to
            # gdb: cast it, as aq-bt casts a task's.
            try:
                loop = gdb.parse_and_eval(arg).cast(
                    gdb.lookup_type("struct aq_loop").pointer())
                if int(loop) == 0:
                    raise gdb.GdbError("aq-tasks: %s is NULL, not a loop"
                                       % arg)
                tasks = _tasks(loop)
            except gdb.error as e:
                raise gdb.GdbError("aq-tasks: %s is not a loop (%s)"
                                   % (arg, e))
        LAST["loop"] = loop
        print("libaq loop %s: %d task%s"
              % (loop, len(tasks), "" if len(tasks) == 1 else "s"))
        for i, t in enumerate(tasks, 1):
            print("  %d  task %s  %s" % (i, t, _describe(t)))


REGS_X86_64 = ["r15", "r14", "r13", "r12", "rbx", "rbp"]  # then the return


class AqBt(gdb.Command):
    """aq-bt N|TASK: the backtrace of a parked task."""

    def __init__(self):
        super().__init__("aq-bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        if not arg:
            raise gdb.GdbError("aq-bt N (a number from aq-tasks) or TASK")
        _types()
        if arg.isdigit():
            tasks = _tasks(LAST["loop"] or _current_loop())
            if not 1 <= int(arg) <= len(tasks):
                raise gdb.GdbError("no task %s: aq-tasks lists %d"
                                   % (arg, len(tasks)))
            t = tasks[int(arg) - 1]
        else:
            try:
                t = gdb.parse_and_eval(arg).cast(
                    gdb.lookup_type("aq_task").pointer())
                state = STATES[int(t["state"])]
            except (gdb.error, KeyError) as e:
                raise gdb.GdbError("aq-bt: %s is not a task (%s)" % (arg, e))
        state = STATES.get(int(t["state"]), "?")
        if state == "running":
            _running_bt(t)
            return
        conn = getattr(gdb.selected_inferior(), "connection", None)
        if conn is not None and conn.type == "core":
            raise gdb.GdbError("aq-bt needs a live process (it loads the "
                               "task's saved registers into a thread); on "
                               "a core file, aq-tasks works")
        if int(t["compact"]):
            raise gdb.GdbError("a compact task's frames are copied aside "
                               "while it is parked: no backtrace")
        arch = gdb.selected_frame().architecture().name()
        if "x86-64" not in arch:
            raise gdb.GdbError("aq-bt knows the x86-64 context only (%s)"
                               % arch)
        sp = int(t["ctx"]["sp"])
        word = gdb.lookup_type("unsigned long").pointer()
        saved = [int(gdb.Value(sp + 8 * i).cast(word).dereference())
                 for i in range(7)]
        own = {r: int(gdb.parse_and_eval("$" + r))
               for r in REGS_X86_64 + ["rsp", "rip"]}
        gdb.execute("select-frame 0")
        try:
            for r, v in zip(REGS_X86_64, saved):
                gdb.execute("set $%s = %d" % (r, v))
            gdb.execute("set $rsp = %d" % (sp + 56))
            gdb.execute("set $rip = %d" % saved[6])
            print("task %s  %s" % (t, _describe(t)))
            gdb.execute("bt %d" % _task_depth())
        finally:
            for r, v in own.items():
                gdb.execute("set $%s = %d" % (r, v))


def _running_bt(t):
    """A running task's frames are those of the thread whose loop is the
    task's: found by each thread's aq__thread_loop, shown down to the
    task's first frame, and the selected thread put back."""
    own = gdb.selected_thread()
    try:
        for th in gdb.selected_inferior().threads():
            th.switch()
            if int(gdb.parse_and_eval("aq__thread_loop")) == int(t["loop"]):
                print("task %s  %s, on thread %d" % (t, _describe(t), th.num))
                gdb.execute("bt %d" % _task_depth())
                return
    finally:
        own.switch()
    raise gdb.GdbError("task %s is running, but no thread runs its loop %s"
                       % (t, t["loop"]))


def _task_depth():
    """Frames from the newest to aq__task_entry, the first a task runs:
    below it lies only the zero return address its stack was laid out
    with, which gdb would show as a frame at 0x0 and then report that it
    cannot read memory there."""
    depth, f = 0, gdb.newest_frame()
    while f is not None:
        depth += 1
        if f.name() == "aq__task_entry":
            break
        try:
            f = f.older()
        except gdb.error:
            break
    return depth


AqTasks()
AqBt()
