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

/* MSG (issue 20): functions come with their implementation. */
#define ABI_SKIP_saMsgInitialize
#define ABI_SKIP_saMsgSelectionObjectGet
#define ABI_SKIP_saMsgDispatch
#define ABI_SKIP_saMsgFinalize
#define ABI_SKIP_saMsgQueueOpen
#define ABI_SKIP_saMsgQueueOpenAsync
#define ABI_SKIP_saMsgQueueClose
#define ABI_SKIP_saMsgQueueStatusGet
#define ABI_SKIP_saMsgQueueUnlink
#define ABI_SKIP_saMsgQueueGroupCreate
#define ABI_SKIP_saMsgQueueGroupInsert
#define ABI_SKIP_saMsgQueueGroupRemove
#define ABI_SKIP_saMsgQueueGroupDelete
#define ABI_SKIP_saMsgQueueGroupTrack
#define ABI_SKIP_saMsgQueueGroupTrackStop
#define ABI_SKIP_saMsgMessageSend
#define ABI_SKIP_saMsgMessageSendAsync
#define ABI_SKIP_saMsgMessageGet
#define ABI_SKIP_saMsgMessageCancel
#define ABI_SKIP_saMsgMessageSendReceive
#define ABI_SKIP_saMsgMessageReply
#define ABI_SKIP_saMsgMessageReplyAsync
