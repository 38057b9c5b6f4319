/**
 * Test-only hooks, deliberately not exported from the package entry.
 *
 * `sendRawLine`: bridge[sendRawLine](line, answerId?) writes `line` to the
 * companion as is (plus a newline) and, when `answerId` is given, resolves
 * with whatever message the companion answers for that id.
 */
export const sendRawLine: unique symbol = Symbol('gilgauge.bridge.sendRawLine')
