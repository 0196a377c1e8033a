/*
 * ACL: ordered 5-tuple rules, first match wins (DESIGN.md, Modes: ACL).
 *
 *   acl allow|deny [proto tcp|udp|icmp] [src PREFIX] [dst PREFIX]
 *                  [sport N[-M]] [dport N[-M]]
 *   acl default allow|deny
 *
 * PREFIX is IPv4 (A.B.C.D/LEN) or IPv6; a rule with an IPv4 prefix matches
 * only IPv4 packets and vice versa; a rule with neither matches both. Port
 * ranges need proto tcp or udp. `proto icmp` means ICMP for IPv4 and ICMPv6
 * for IPv6. A non-first fragment has no ports: it matches only rules that
 * name no ports. Each rule counts its hits.
 *
 * Matching: acl_build turns the rule list into a classifier (acl.c) whose
 * cost grows with the log of the rule count, not with the rules a packet
 * passes. Until it is built, and again after acl_parse adds a rule, the
 * rules are scanned one by one; both give the same answer.
 */
#ifndef PKTMETAL_NET_ACL_H
#define PKTMETAL_NET_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/token.h"

#define ACL_MAX_RULES 256

enum acl_action { ACL_ALLOW, ACL_DENY };

struct acl_rule {
    enum acl_action action;
    uint8_t proto;              /* 0 = any, else IPPROTO_TCP_/UDP_/ICMP_ */
    uint8_t family;             /* 0 = any, 4, 6 (from the prefixes given) */
    bool has_src, has_dst;
    uint8_t src[16], dst[16];   /* IPv4 in the first 4 bytes, network order */
    uint8_t src_len, dst_len;
    uint16_t sport_lo, sport_hi;   /* 0..65535 when not given */
    uint16_t dport_lo, dport_hi;
    bool has_ports;
    uint32_t line;              /* config line, for the `acl` command */
    uint64_t hits;
};

struct acl_classifier;

struct acl {
    struct acl_rule rules[ACL_MAX_RULES];
    unsigned nb_rules;
    /* NULL: scan. Built over rules[0..nb_rules) as they were at acl_build;
     * whoever changes a rule or the count afterwards builds again. */
    const struct acl_classifier *classifier;
    enum acl_action default_action;   /* ACL_ALLOW unless `acl default deny` */
    uint64_t default_hits;
};

/* What a packet offers to the matcher (from struct pkt_info + headers). */
struct acl_key {
    uint8_t family;             /* 4 or 6 */
    uint8_t proto;              /* IPPROTO_* (ICMPv6 = 58) */
    uint8_t src[16], dst[16];   /* IPv4 in the first 4 bytes, network order */
    bool has_ports;             /* TCP/UDP and not a non-first fragment */
    uint16_t sport, dport;      /* host order */
};

void acl_init(struct acl *acl);
/* Parses the values after "acl" (tokens[0] is allow|deny|default). On error
 * returns a negative PM_E* and writes a message without the "config:LINE: "
 * prefix into why (e.g. "sport needs proto tcp or udp"). */
int acl_parse(struct acl *acl, const struct config_token *tokens, size_t nb_tokens,
              uint32_t line, char *why, size_t why_size);
/* Bytes acl_build needs for nb_rules rules (at most ACL_MAX_RULES): about
 * 5 KiB for 10 rules, 34 KiB for 100, 131 KiB for 256. */
size_t acl_mem_bytes(unsigned nb_rules);
/* Builds the classifier over the current rules in mem (8-byte aligned,
 * bytes >= acl_mem_bytes(acl->nb_rules)), which must stay allocated while
 * acl uses it. Returns 0, -PM_EINVAL (misaligned) or -PM_ENOSPC. */
int acl_build(struct acl *acl, void *mem, size_t bytes);
/* First matching rule's action (counting its hit), else the default. */
enum acl_action acl_match(struct acl *acl, const struct acl_key *key);
/* Index of the rule that matches, or -1 for the default; no counting. */
int acl_classify(const struct acl *acl, const struct acl_key *key);
/* The action of acl_classify's answer rule (-1: the default). */
static inline enum acl_action acl_rule_action(const struct acl *acl, int rule)
{
    return rule < 0 ? acl->default_action : acl->rules[rule].action;
}

/* What acl_match does with acl_classify's answer: counts the hit of rule
 * (-1: the default) and returns its action. */
static inline enum acl_action acl_count(struct acl *acl, int rule)
{
    if (rule < 0)
        acl->default_hits++;
    else
        acl->rules[rule].hits++;
    return acl_rule_action(acl, rule);
}
/* The `acl` console command: one line per rule with its hits, via put. */
void acl_print(const struct acl *acl, int (*print)(const char *fmt, ...));

#endif
