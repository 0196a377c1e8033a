/*
 * Small text helpers shared by the parsers in net/ (config, inet, bpf):
 * the image has no libc, so no <ctype.h>.
 */
#ifndef PKTMETAL_NET_TEXT_H
#define PKTMETAL_NET_TEXT_H

/* The value of one hex digit (either case), or -1. */
static inline int text_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
