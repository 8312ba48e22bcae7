// Named fault-injection points for the test suites. Inert unless the
// environment names the point: with GATE_FAULT_POINT=<name> and
// GATE_FAULT_FIFO=<path of a FIFO the test made>, the gate that reaches
// <name> writes "<name>\n" to the FIFO (blocking until the test reads) and
// then waits for a signal, so a test kills or interrupts it at exactly that
// point, not after a sleep. A signal other than SIGKILL lets it go on (also
// inside a CancelShield), and so does the file GATE_FAULT_RESUME names once
// the test creates it (a fault the test causes there: a database terminated).
// Each process pauses once, at the first time it reaches the point. A user's
// gate never sets these variables; unset, a point costs one getenv.
#pragma once

namespace gate::util {

// Pauses at `name` when the environment asks for it; otherwise returns at once.
void fault_point(const char *name);

} // namespace gate::util
