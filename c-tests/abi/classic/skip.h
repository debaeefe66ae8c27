/*
 * What the generated checks in this directory (scripts/abi-from-classic.py
 * writes them from the openais 0.80.6 headers) leave out: one line per
 * item, `#define ABI_SKIP_<name>`, under a comment saying why. For a
 * function, only the check that our header declares it is left out: its
 * classic prototype is still re-declared, so the day our header declares
 * it with another prototype the build fails. c-tests/run-abi.sh fails if a
 * function skipped here is declared by our header or exported
 * (rust/capi/symbols/): then remove its line.
 *
 * Classic defects not copied (no line needed, nothing is skipped for
 * them): saLck.h and saMsg.h open `extern "C" {` for C++ and never close
 * it, so a C++ program including them does not compile; ours close it.
 * saCkpt.h, saLck.h and saMsg.h use saAis.h types without including it;
 * ours include it.
 */

