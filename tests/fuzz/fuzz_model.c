/* libFuzzer target: the input bytes are an operation program (see
 * m_decode in tests/model/prog.h), run on libaq with the reference model
 * as oracle. A disagreement prints the program, shrinks it, prints the
 * small one with its trace, and aborts so libFuzzer saves the input.
 * Built and run by `make fuzz`; tests/test_fuzz_replay.c replays the
 * corpus in every `make test`. */
#include "../model/interp.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    m_prog p;
    char msg[M_MSG];
    m_decode(&p, data, size);
    if (m_check(&p, msg, sizeof msg, NULL, NULL)) {
        fprintf(stderr, "FAIL: %s\n", msg);
        m_explain(&p);
        abort();
    }
    return 0;
}
