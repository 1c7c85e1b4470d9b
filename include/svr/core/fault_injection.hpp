#pragma once
// Failure injection for the tests of the error paths: SVR_INJECT_FAILURE="RANK:PHASE[:KIND]"
// makes rank RANK fail when it reaches the point named PHASE. Unset (the normal case), every
// call is a cheap no-op. The tests use it to prove that a failure on any rank, in any phase,
// ends every rank quickly with one message and leaves no output behind.
#include <string_view>

namespace svr {

// Points the pipeline announces, in order: "read", "svd", "edges", "significance", "gather"
// (after a rank has sent its pairs' outcomes to rank 0), "write".
// KIND: "throw" (default; an ordinary error, agreed across ranks), "exit" (the process dies
// with exit code 3 without telling anyone or cleaning up, as a crash would), "hang" (the rank
// blocks forever, as a deadlocked rank would). A hung rank is indistinguishable from a slow one
// (an SVD may legitimately take hours), so svr does not time out; such a job ends by the
// scheduler's time limit or a user's scancel/Ctrl-C, i.e. by SIGTERM or SIGINT. "hang" is there
// to test exactly that: a signal ends a job whose ranks are stuck, promptly and cleanly.
void inject_failure_point(std::string_view phase, int rank);

}  // namespace svr
