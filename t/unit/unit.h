
/*
 * Copyright (C) 2026 The ngx_ws authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#ifndef _NGX_WS_UNIT_H_INCLUDED_
#define _NGX_WS_UNIT_H_INCLUDED_


/*
 * A tiny assertion helper: every check counts as passed or failed, a failed
 * one prints its place and expression, and UNIT_DONE() prints
 * "N passed, M failed" and returns the exit status.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>


static unsigned  unit_passed;
static unsigned  unit_failed;


#define UNIT_CHECK(cond)                                                      \
    unit_check((cond) != 0, __FILE__, __LINE__, #cond)

#define UNIT_EQ(a, b)                                                         \
    unit_check_int((long long) (a), (long long) (b), __FILE__, __LINE__,      \
                   #a " == " #b)

/* a memory region against a C string literal (no NUL compared) */
#define UNIT_MEM(p, len, lit)                                                 \
    unit_check_mem((const void *) (p), (size_t) (len), (lit),                 \
                   sizeof(lit) - 1, __FILE__, __LINE__, #p)

#define UNIT_DONE()                                                           \
    (printf("%u passed, %u failed\n", unit_passed, unit_failed),              \
     unit_failed ? 1 : 0)


static inline int
unit_check(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        unit_passed++;

    } else {
        unit_failed++;
        printf("FAIL %s:%d: %s\n", file, line, expr);
    }

    return ok;
}


static inline int
unit_check_int(long long a, long long b, const char *file, int line,
    const char *expr)
{
    if (a == b) {
        unit_passed++;
        return 1;
    }

    unit_failed++;
    printf("FAIL %s:%d: %s (%lld != %lld)\n", file, line, expr, a, b);

    return 0;
}


static inline int
unit_check_mem(const void *p, size_t len, const char *lit, size_t lit_len,
    const char *file, int line, const char *expr)
{
    if (p != NULL && len == lit_len && memcmp(p, lit, len) == 0) {
        unit_passed++;
        return 1;
    }

    unit_failed++;
    printf("FAIL %s:%d: %s is \"%.*s\" (%zu bytes), expected \"%s\"\n",
           file, line, expr, p ? (int) len : 0, p ? (const char *) p : "",
           len, lit);

    return 0;
}


#endif /* _NGX_WS_UNIT_H_INCLUDED_ */
