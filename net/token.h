/*
 * A token of pktmetal.conf: a slice of the config text, not NUL-terminated.
 * Modules that parse their own directive values (acl, inet) take these, so
 * config.c can hand them the words of a line without copying. Print one with
 * "%.*s", TOKEN_ARGS(tok).
 */
#ifndef PKTMETAL_NET_TOKEN_H
#define PKTMETAL_NET_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

struct config_token {
    const char *s;
    size_t len;
};

#define TOKEN_ARGS(t) (int)(t)->len, (t)->s

static inline bool token_is(const struct config_token *tok, const char *word)
{
    size_t i = 0;
    for (; i < tok->len; i++)
        if (word[i] != tok->s[i])
            return false;       /* also stops at word's NUL */
    return word[i] == '\0';
}

#endif
