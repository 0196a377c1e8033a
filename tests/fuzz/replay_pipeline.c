/*
 * Replays a pipeline corpus through the fuzz harness (fuzz_pipeline.c,
 * linked here without libFuzzer) and checks that it reaches every drop
 * reason: each counter of net/drop.h must end non-zero, summed over the
 * router, bridge and l2fwd pipelines. A seed named after a reason
 * ("<reason>-<what>", written by make_seeds.py) must also raise that
 * reason's counter by itself, so a seed that stops doing its job is named.
 * The harness keeps state between inputs as a wire would, so the order is
 * part of the test: the named seeds first, in name order, then the inputs
 * libFuzzer found (named by their SHA-1, without a '-').
 *
 *   usage: replay_pipeline CORPUS_DIR
 *
 * Prints each reason's count; exits 1 naming every reason that stayed at
 * zero and every seed that missed its reason.
 */
#include <dirent.h>
#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_pipeline.h"

#define MAX_INPUT_BYTES 4096

static char current[4096];              /* the file being replayed */

/* The harness aborts on a leaked buffer, a sanitizer on a bad access: either
 * way, name the input that did it. */
static void say_current(void)
{
    static const char what[] = "replay: failed on input ";
    if (write(2, what, sizeof(what) - 1) < 0 || write(2, current, strlen(current)) < 0 ||
        write(2, "\n", 1) < 0)
        return;
}

static void on_abort(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The reason a seed's name starts with ("ttl_expired-..."), or DROP_NONE. */
static enum drop_reason reason_of_name(const char *name)
{
    const char *dash = strchr(name, '-');
    if (dash == NULL)
        return DROP_NONE;
    for (int r = 1; r < DROP__COUNT; r++) {
        const char *s = drop_reason_name((enum drop_reason)r);
        if (strlen(s) == (size_t)(dash - name) && strncmp(name, s, strlen(s)) == 0)
            return (enum drop_reason)r;
    }
    return DROP_NONE;
}

static long read_file(const char *path, uint8_t *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, size, f);
    bool too_big = n == size && fgetc(f) != EOF;
    fclose(f);
    return too_big ? -1 : (long)n;
}

static int only_files(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Replays one file; returns false if it is a seed that missed its reason. */
static bool replay_one(const char *dir, const char *name)
{
    static uint8_t buf[MAX_INPUT_BYTES];
    char path[sizeof(current)];
    uint64_t before[DROP__COUNT], after[DROP__COUNT];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(current, sizeof(current), "%s", path);
    long n = read_file(path, buf, sizeof(buf));
    if (n < 0) {
        printf("replay: cannot read %s (missing, or over %d bytes)\n", path, MAX_INPUT_BYTES);
        return false;
    }
    fuzz_pipeline_drops(before);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    fuzz_pipeline_drops(after);
    enum drop_reason want = reason_of_name(name);
    if (want != DROP_NONE && after[want] == before[want]) {
        printf("replay: seed %s did not count a %s drop\n", name, drop_reason_name(want));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct dirent **names;
    uint64_t drops[DROP__COUNT];
    bool ok = true;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    signal(SIGABRT, on_abort);
    __sanitizer_set_death_callback(say_current);
    int nb = scandir(argv[1], &names, only_files, alphasort);
    if (nb < 0) {
        perror(argv[1]);
        return 2;
    }
    /* Named seeds first, so what they meet does not depend on what the
     * fuzzer found; then the inputs it found. */
    for (int named = 1; named >= 0; named--)
        for (int i = 0; i < nb; i++)
            if ((strchr(names[i]->d_name, '-') != NULL) == named)
                ok &= replay_one(argv[1], names[i]->d_name);
    for (int i = 0; i < nb; i++)
        free(names[i]);
    free(names);

    fuzz_pipeline_drops(drops);
    int nb_reached = 0;
    for (int r = 1; r < DROP__COUNT; r++) {
        const char *name = drop_reason_name((enum drop_reason)r);
        printf("  %-18s %llu\n", name, (unsigned long long)drops[r]);
        if (drops[r] != 0)
            nb_reached++;
        if (drops[r] == 0) {
            printf("replay: no input reaches drop reason %s\n", name);
            ok = false;
        }
    }
    printf("replay: %d files, %d of %d drop reasons reached%s\n", nb, nb_reached,
           DROP__COUNT - 1, ok ? "" : ", FAILED");
    return ok ? 0 : 1;
}
