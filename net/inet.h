/*
 * IPv4/IPv6 addresses and prefixes in text: parse (from config tokens) and
 * format (for the console). Parsed IPv4 values are in host byte order;
 * IPv6 addresses are 16 bytes in network order.
 */
#ifndef PKTMETAL_NET_INET_H
#define PKTMETAL_NET_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/token.h"

/* Dotted quad, exactly four decimal octets 0..255, no leading '+'/spaces. */
bool inet_parse_ipv4(const struct config_token *tok, uint32_t *addr);
/* A.B.C.D/LEN, LEN 0..32. host_bits_ok=false rejects set bits below LEN
 * (10.0.0.1/8); true allows them (an interface address). */
bool inet_parse_prefix4(const struct config_token *tok, uint32_t *addr, uint8_t *len,
                        bool host_bits_ok);
/* RFC 4291 2.2 text forms, including "::" compression and an embedded
 * dotted quad in the last 32 bits. */
bool inet_parse_ipv6(const struct config_token *tok, uint8_t addr[16]);
bool inet_parse_prefix6(const struct config_token *tok, uint8_t addr[16], uint8_t *len,
                        bool host_bits_ok);
/* "A.B.C.D"; buf needs 16 bytes. Returns buf. */
char *inet_fmt_ipv4(uint32_t addr, char *buf);
/* RFC 5952 canonical form; buf needs 46 bytes. Returns buf. */
char *inet_fmt_ipv6(const uint8_t addr[16], char *buf);
static inline uint32_t inet_mask4(uint8_t len)
{
    return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

#endif
