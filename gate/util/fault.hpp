// Named fault-injection points for the test suites. Inert unless the
// environment names the point: with GATE_FAULT_POINT=<name> and
// GATE_FAULT_FIFO=<path of a FIFO the test made>, the gate that reaches
// <name> writes "<name>\n" to the FIFO (blocking until the test reads) and
// then waits for a signal, so a test kills or interrupts it at exactly that
// point, not after a sleep. A signal other than SIGKILL lets it go on.
#pragma once

namespace gate::util {

// Pauses at `name` when the environment asks for it; otherwise returns at once.
void fault_point(const char *name);

} // namespace gate::util
