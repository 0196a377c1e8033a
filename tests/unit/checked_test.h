/*
 * CHECKED_TEST: a Criterion test whose body is followed by a suite-wide check
 * (a buffer leak, an accounting identity) that can fail the test.
 *
 * Criterion 2.4 runs .fini after the test has been judged: an assertion or
 * even a crash there is only a warning and the test still passes. Checks
 * every test must meet therefore run at the end of the body instead.
 */
#ifndef PKTMETAL_TESTS_UNIT_CHECKED_TEST_H
#define PKTMETAL_TESTS_UNIT_CHECKED_TEST_H

#include <criterion/criterion.h>

#define CHECKED_TEST(suite, name, check)        \
    static void suite##_##name##_body(void);    \
    Test(suite, name)                           \
    {                                           \
        suite##_##name##_body();                \
        check();                                \
    }                                           \
    static void suite##_##name##_body(void)

#endif
