/* Replays every input of the fuzzer's corpus (tests/fuzz/corpus/, kept in
 * the repository) through the model checker, without libFuzzer, so each
 * `make test` re-checks what fuzzing found interesting. The directory is
 * found from this file's own path; argv[1] may name another. */
#include "test.h"

#include "model/interp.h"

#include <dirent.h>

static const char *corpus_dir;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(test_fuzz_replay_corpus)
{
    static uint8_t buf[4096];
    char path[4096], msg[M_MSG];
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(corpus_dir);
    if (!d)
        t_fail(__FILE__, __LINE__, "cannot open corpus %s", corpus_dir);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            names = realloc(names, cap * sizeof *names);
            ASSERT(names != NULL);
        }
        names[n] = strdup(e->d_name);
        ASSERT(names[n] != NULL);
        n++;
    }
    closedir(d);
    ASSERT(n > 0); /* an empty corpus would test nothing */
    qsort(names, n, sizeof *names, by_name); /* a stable replay order */
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", corpus_dir, names[i]);
        FILE *f = fopen(path, "rb");
        ASSERT(f != NULL);
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        m_prog p;
        m_decode(&p, buf, len);
        m_early = stderr;
        snprintf(m_label, sizeof m_label, "%s", names[i]);
        if (m_check(&p, msg, sizeof msg, NULL, NULL)) {
            fprintf(stderr, "FAIL %s: %s\n", path, msg);
            m_explain(&p);
            exit(1);
        }
        free(names[i]);
    }
    free(names);
    m_cleanup();
    printf("replayed %zu corpus inputs\n", n);
}

int main(int argc, char **argv)
{
    /* CMake compiles with the source's absolute path, so __FILE__ leads
     * to tests/fuzz/corpus beside this file. */
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    size_t at = slash ? (size_t)(slash + 1 - dir) : 0;
    snprintf(dir + at, sizeof dir - at, "fuzz/corpus");
    corpus_dir = argc > 1 ? argv[1] : dir;
    t_run("test_fuzz_replay_corpus", test_fuzz_replay_corpus, 1, argv);
    return t_done();
}
