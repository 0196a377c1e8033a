/*
 * ACL: ordered allow/deny rules on the 5-tuple, first match wins (the API
 * and the rule grammar are in net/acl.h; DESIGN.md, Modes).
 *
 * Parsing reads a whole `acl` line into a rule before adding it, so a bad
 * line leaves the table as it was, and checks the line as a whole only after
 * every option is read, because options come in any order ("dport 22 proto
 * tcp" is as good as "proto tcp dport 22").
 *
 * Matching has two ways to the same answer. The scan checks rule after
 * rule, at most five tests each, cheapest first:
 *
 *   family   0 (any) or equal             one compare
 *   proto    0 (any) or equal             one compare
 *   ports    in [lo, hi] (tcp/udp only)   two range checks
 *   src/dst  prefix                       two masked 64-bit compares each
 *
 * A prefix is compared as two big-endian 64-bit words of the 16-byte
 * address, each under a mask derived from the prefix length with one shift.
 * IPv4 uses the same code: its 4 bytes lead the array and its length is at
 * most 32, so the second word's mask is empty. Parsing refuses host bits, so
 * the rule's address needs no masking.
 *
 * The classifier that acl_build makes (its section below) visits no rule
 * at all: a packet costs at most four short binary searches and an AND of
 * five bit sets, however many rules it passes before its match. It is what
 * the packet path uses;
 * the scan stays as the plain statement of first-match semantics that the
 * classifier is tested against, and answers while no classifier is built.
 *
 * Freestanding: no libc; messages are built with fmt_snprintf.
 */
#include <stdarg.h>

#include "net/acl.h"
#include "net/errno.h"
#include "net/fmt.h"
#include "net/inet.h"
#include "net/proto.h"

#define PORT_MAX 65535u

enum acl_option { OPT_PROTO, OPT_SRC, OPT_DST, OPT_SPORT, OPT_DPORT, NB_OPTIONS };

/* The option words of a rule and what each expects, for "needs a value". */
static const struct {
    const char *name;
    const char *value_hint;
} options[NB_OPTIONS] = {
    [OPT_PROTO] = {"proto", "tcp, udp or icmp"},
    [OPT_SRC] = {"src", "an IPv4 or IPv6 prefix"},
    [OPT_DST] = {"dst", "an IPv4 or IPv6 prefix"},
    [OPT_SPORT] = {"sport", "N or N-M"},
    [OPT_DPORT] = {"dport", "N or N-M"},
};

void acl_init(struct acl *acl)
{
    /* The rules array is not cleared: only rules[0..nb_rules) are ever read,
     * and each is written whole when it is added. */
    acl->nb_rules = 0;
    acl->classifier = NULL;
    acl->default_action = ACL_ALLOW;
    acl->default_hits = 0;
}

/* --- parsing ----------------------------------------------------------- */

/* Writes the message into why; returns ret so callers can end with
 * "return parse_error(...)". */
static int parse_error(char *why, size_t why_size, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int parse_error(char *why, size_t why_size, int ret, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_size == 0)
        return ret;
    va_start(ap, fmt);
    fmt_vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return ret;
}

static int parse_action(const struct config_token *tok, enum acl_action *action)
{
    if (token_is(tok, "allow"))
        *action = ACL_ALLOW;
    else if (token_is(tok, "deny"))
        *action = ACL_DENY;
    else
        return -PM_EINVAL;
    return 0;
}

static int parse_proto(const struct config_token *tok, struct acl_rule *rule, char *why,
                       size_t why_size)
{
    if (token_is(tok, "tcp"))
        rule->proto = IPPROTO_TCP_;
    else if (token_is(tok, "udp"))
        rule->proto = IPPROTO_UDP_;
    else if (token_is(tok, "icmp"))
        rule->proto = IPPROTO_ICMP_;
    else
        return parse_error(why, why_size, -PM_EINVAL, "proto '%.*s' is not tcp, udp or icmp",
                           TOKEN_ARGS(tok));
    return 0;
}

static void store_ipv4(uint32_t addr, uint8_t out[16])
{
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(addr >> (24 - 8 * i));
}

/* Clears the host bits of a 16-byte address below len. */
static void clear_host_bits6(uint8_t addr[16], unsigned len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned net_bits = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
        addr[i] &= (uint8_t)(0xff00u >> net_bits);
    }
}

/* Says why tok is not a prefix, in the words a user can act on. */
static int explain_bad_prefix(const char *opt, const struct config_token *tok, char *why,
                              size_t why_size)
{
    char text[46];
    uint8_t a6[16], len;
    uint32_t a4;

    if (inet_parse_prefix4(tok, &a4, &len, true))
        return parse_error(why, why_size, -PM_EINVAL,
                           "%s %.*s has host bits set (did you mean %s/%u?)", opt,
                           TOKEN_ARGS(tok), inet_fmt_ipv4(a4 & inet_mask4(len), text),
                           (unsigned)len);
    if (inet_parse_prefix6(tok, a6, &len, true)) {
        clear_host_bits6(a6, len);
        return parse_error(why, why_size, -PM_EINVAL,
                           "%s %.*s has host bits set (did you mean %s/%u?)", opt,
                           TOKEN_ARGS(tok), inet_fmt_ipv6(a6, text), (unsigned)len);
    }
    if (inet_parse_ipv4(tok, &a4))
        return parse_error(why, why_size, -PM_EINVAL,
                           "%s %.*s has no prefix length (/32 for one host)", opt,
                           TOKEN_ARGS(tok));
    if (inet_parse_ipv6(tok, a6))
        return parse_error(why, why_size, -PM_EINVAL,
                           "%s %.*s has no prefix length (/128 for one host)", opt,
                           TOKEN_ARGS(tok));

    struct config_token addr = {tok->s, 0};
    while (addr.len < tok->len && tok->s[addr.len] != '/')
        addr.len++;
    bool is_ipv4 = inet_parse_ipv4(&addr, &a4);
    if (addr.len < tok->len && (is_ipv4 || inet_parse_ipv6(&addr, a6)))
        return parse_error(why, why_size, -PM_ERANGE,
                           "%s %.*s: prefix length must be 0..%u", opt, TOKEN_ARGS(tok),
                           is_ipv4 ? 32u : 128u);
    return parse_error(why, why_size, -PM_EINVAL, "%s '%.*s' is not an IPv4 or IPv6 prefix",
                       opt, TOKEN_ARGS(tok));
}

/* Reads src or dst into addr/len and records the family it implies. */
static int parse_prefix(const char *opt, const struct config_token *tok, uint8_t addr[16],
                        uint8_t *len, uint8_t *family, char *why, size_t why_size)
{
    uint32_t a4;

    if (inet_parse_prefix4(tok, &a4, len, false)) {
        store_ipv4(a4, addr);
        *family = 4;
        return 0;
    }
    if (inet_parse_prefix6(tok, addr, len, false)) {
        *family = 6;
        return 0;
    }
    return explain_bad_prefix(opt, tok, why, why_size);
}

/* Reads decimal digits s[*pos..] up to a '-' or the end. Values past
 * PORT_MAX are kept just above it (not wrapped) so the caller sees them as
 * out of range however many digits follow. */
static bool parse_port_digits(const struct config_token *tok, size_t *pos, uint32_t *out)
{
    size_t start = *pos;
    uint32_t v = 0;

    while (*pos < tok->len && tok->s[*pos] >= '0' && tok->s[*pos] <= '9') {
        v = v * 10 + (uint32_t)(tok->s[*pos] - '0');
        if (v > PORT_MAX)
            v = PORT_MAX + 1;
        (*pos)++;
    }
    *out = v;
    return *pos > start;
}

static int parse_ports(const char *opt, const struct config_token *tok, uint16_t *lo,
                       uint16_t *hi, char *why, size_t why_size)
{
    size_t pos = 0;
    uint32_t first, last;

    bool ok = parse_port_digits(tok, &pos, &first);
    last = first;
    if (ok && pos < tok->len && tok->s[pos] == '-') {
        pos++;
        ok = parse_port_digits(tok, &pos, &last);
    }
    if (!ok || pos != tok->len)
        return parse_error(why, why_size, -PM_EINVAL, "%s '%.*s' is not a port or range (%s)",
                           opt, TOKEN_ARGS(tok), options[OPT_SPORT].value_hint);
    if (first > PORT_MAX || last > PORT_MAX)
        return parse_error(why, why_size, -PM_ERANGE, "%s %.*s is out of range 0..%u", opt,
                           TOKEN_ARGS(tok), PORT_MAX);
    if (first > last)
        return parse_error(why, why_size, -PM_EINVAL,
                           "%s %.*s is backwards (N-M needs N <= M)", opt, TOKEN_ARGS(tok));
    *lo = (uint16_t)first;
    *hi = (uint16_t)last;
    return 0;
}

static int parse_option_value(enum acl_option opt, const struct config_token *value,
                              struct acl_rule *rule, uint8_t family[2], char *why,
                              size_t why_size)
{
    const char *name = options[opt].name;

    switch (opt) {
    case OPT_PROTO:
        return parse_proto(value, rule, why, why_size);
    case OPT_SRC:
        rule->has_src = true;
        return parse_prefix(name, value, rule->src, &rule->src_len, &family[0], why, why_size);
    case OPT_DST:
        rule->has_dst = true;
        return parse_prefix(name, value, rule->dst, &rule->dst_len, &family[1], why, why_size);
    case OPT_SPORT:
        rule->has_ports = true;
        return parse_ports(name, value, &rule->sport_lo, &rule->sport_hi, why, why_size);
    case OPT_DPORT:
        rule->has_ports = true;
        return parse_ports(name, value, &rule->dport_lo, &rule->dport_hi, why, why_size);
    case NB_OPTIONS:
        break;
    }
    return -PM_EINVAL;
}

static int find_option(const struct config_token *tok)
{
    for (int i = 0; i < NB_OPTIONS; i++)
        if (token_is(tok, options[i].name))
            return i;
    return -1;
}

/* The checks that need the whole line: one family, ports only with tcp/udp. */
static int check_rule(struct acl_rule *rule, const uint8_t family[2], int first_port_opt,
                      char *why, size_t why_size)
{
    if (family[0] != 0 && family[1] != 0 && family[0] != family[1])
        return parse_error(why, why_size, -PM_EINVAL, "src is IPv%u but dst is IPv%u",
                           (unsigned)family[0], (unsigned)family[1]);
    rule->family = family[0] != 0 ? family[0] : family[1];
    if (rule->has_ports && rule->proto != IPPROTO_TCP_ && rule->proto != IPPROTO_UDP_)
        return parse_error(why, why_size, -PM_EINVAL, "%s needs proto tcp or udp",
                           options[first_port_opt].name);
    return 0;
}

/* Reads "allow|deny [OPTION VALUE]..." into *rule. */
static int parse_rule(const struct config_token *tokens, size_t nb_tokens,
                      struct acl_rule *rule, char *why, size_t why_size)
{
    uint8_t family[2] = {0, 0};     /* implied by src, dst */
    unsigned seen = 0;              /* bit per enum acl_option */
    int first_port_opt = -1;

    for (size_t i = 1; i < nb_tokens; i += 2) {
        int opt = find_option(&tokens[i]);
        if (opt < 0)
            return parse_error(why, why_size, -PM_EINVAL, "unknown option '%.*s'",
                               TOKEN_ARGS(&tokens[i]));
        if (seen & (1u << opt))
            return parse_error(why, why_size, -PM_EINVAL, "%s given twice", options[opt].name);
        seen |= 1u << opt;
        if (i + 1 == nb_tokens)
            return parse_error(why, why_size, -PM_EINVAL, "%s needs a value (%s)",
                               options[opt].name, options[opt].value_hint);
        if ((opt == OPT_SPORT || opt == OPT_DPORT) && first_port_opt < 0)
            first_port_opt = opt;
        int ret = parse_option_value((enum acl_option)opt, &tokens[i + 1], rule, family, why,
                                     why_size);
        if (ret < 0)
            return ret;
    }
    return check_rule(rule, family, first_port_opt, why, why_size);
}

static int parse_default(struct acl *acl, const struct config_token *tokens, size_t nb_tokens,
                         char *why, size_t why_size)
{
    enum acl_action action;

    if (nb_tokens < 2)
        return parse_error(why, why_size, -PM_EINVAL, "default needs allow or deny");
    if (parse_action(&tokens[1], &action) < 0)
        return parse_error(why, why_size, -PM_EINVAL, "default '%.*s' is not allow or deny",
                           TOKEN_ARGS(&tokens[1]));
    if (nb_tokens > 2)
        return parse_error(why, why_size, -PM_EINVAL, "unexpected '%.*s' after default %.*s",
                           TOKEN_ARGS(&tokens[2]), TOKEN_ARGS(&tokens[1]));
    acl->default_action = action;
    return 0;
}

int acl_parse(struct acl *acl, const struct config_token *tokens, size_t nb_tokens,
              uint32_t line, char *why, size_t why_size)
{
    struct acl_rule rule = {
        .sport_lo = 0, .sport_hi = PORT_MAX,
        .dport_lo = 0, .dport_hi = PORT_MAX,
        .line = line,
    };

    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (nb_tokens == 0)
        return parse_error(why, why_size, -PM_EINVAL, "needs allow, deny or default");
    if (token_is(&tokens[0], "default"))
        return parse_default(acl, tokens, nb_tokens, why, why_size);
    if (parse_action(&tokens[0], &rule.action) < 0)
        return parse_error(why, why_size, -PM_EINVAL, "'%.*s' is not allow, deny or default",
                           TOKEN_ARGS(&tokens[0]));
    int ret = parse_rule(tokens, nb_tokens, &rule, why, why_size);
    if (ret < 0)
        return ret;
    if (acl->nb_rules >= ACL_MAX_RULES)
        return parse_error(why, why_size, -PM_ENOSPC, "too many rules (max %u)",
                           (unsigned)ACL_MAX_RULES);
    acl->rules[acl->nb_rules++] = rule;
    acl->classifier = NULL;         /* built without this rule: scan until rebuilt */
    return 0;
}

/* --- matching ---------------------------------------------------------- */

static inline uint64_t load_be64(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* The top len bits of a word, len 0..64 (a shift by 64 is undefined). */
static inline uint64_t mask64(unsigned len)
{
    return len == 0 ? 0 : ~0ull << (64 - len);
}

static inline bool prefix_matches(const uint8_t net[16], uint8_t len, const uint8_t addr[16])
{
    unsigned hi_len = len > 64 ? 64 : len;

    return ((load_be64(addr) ^ load_be64(net)) & mask64(hi_len)) == 0 &&
           ((load_be64(addr + 8) ^ load_be64(net + 8)) & mask64(len - hi_len)) == 0;
}

/* Rules say "icmp" (1) for both families; acl.h makes that ICMPv6 (58) for
 * IPv6. So an IPv6 packet's protocol is translated once, before the scan:
 * 58 becomes 1, and 1 (ICMPv4 inside IPv6, which no host sends) becomes 58,
 * a number no rule names, so `proto icmp` cannot match it. */
static uint8_t key_rule_proto(const struct acl_key *key)
{
    if (key->family != 6)
        return key->proto;
    if (key->proto == IPPROTO_ICMPV6_)
        return IPPROTO_ICMP_;
    if (key->proto == IPPROTO_ICMP_)
        return IPPROTO_ICMPV6_;
    return key->proto;
}

static inline bool rule_matches(const struct acl_rule *r, const struct acl_key *key,
                                uint8_t proto)
{
    if (r->family != 0 && r->family != key->family)
        return false;
    if (r->proto != 0 && r->proto != proto)
        return false;
    if (r->has_ports &&
        !(key->has_ports && key->sport >= r->sport_lo && key->sport <= r->sport_hi &&
          key->dport >= r->dport_lo && key->dport <= r->dport_hi))
        return false;
    if (r->has_src && !prefix_matches(r->src, r->src_len, key->src))
        return false;
    return !r->has_dst || prefix_matches(r->dst, r->dst_len, key->dst);
}

static int scan(const struct acl *acl, const struct acl_key *key)
{
    uint8_t proto = key_rule_proto(key);

    for (unsigned i = 0; i < acl->nb_rules; i++)
        if (rule_matches(&acl->rules[i], key, proto))
            return (int)i;
    return -1;
}

/* --- the classifier ---------------------------------------------------- */

/*
 * Bit vectors per field (after Lakshman and Stiliadis, SIGCOMM 1998). Each
 * field's values are cut into elementary intervals at every rule's edges
 * (its first value and one past its last); within an interval every rule
 * either matches all values or none. Each interval keeps the set of rules
 * that match it, one bit per rule in rule order, so the rules that match a
 * packet are the AND of one set per field, and the first match is the
 * lowest set bit.
 *
 *   field          cut at the edges of           a rule without it
 *   sport, dport   its port range                0..65535
 *   src4, dst4     its IPv4 prefix               every address
 *   src6, dst6     its IPv6 prefix               every address
 *   class          (no search: 16 sets, one per family x protocol class
 *                  x "has ports")
 *
 * Everything that is not a range lives in the class set: the rule's family,
 * its protocol (icmp, tcp, udp; any other protocol only meets proto-less
 * rules) and whether it needs ports, which a non-first fragment lacks. So an
 * IPv6 rule is in every interval of the IPv4 address fields: the class set
 * has already removed it for an IPv4 packet.
 *
 * With n rules a field has at most 2n + 1 intervals, found by a branch-free
 * binary search over their first values. A field no rule names has one
 * interval and costs no search.
 */

struct u128 {
    uint64_t hi, lo;
};

#define DIR_SLOTS 256

struct field32 {                /* ports, IPv4 addresses */
    uint32_t nb;                /* intervals */
    const uint32_t *first;      /* each one's first value, ascending; first[0] = 0 */
    const uint64_t *sets;       /* nb x words: the rules that match the interval */
    /* The search's start: slot t holds the interval of the first value whose
     * top 8 bits are t (slot 256: the last interval), so a value with top
     * bits t lies in intervals dir[t]..dir[t + 1]. */
    uint8_t shift;              /* 8 for ports, 24 for addresses */
    uint16_t dir[DIR_SLOTS + 1];
};

struct field128 {               /* IPv6 addresses */
    uint32_t nb;
    const struct u128 *first;
    const uint64_t *sets;
};

enum proto_class { PC_ICMP, PC_TCP, PC_UDP, PC_OTHER, NB_PROTO_CLASSES };

#define NB_CLASS_SETS (2 * NB_PROTO_CLASSES * 2)   /* family x protocol x has ports */

struct acl_classifier {
    uint32_t words;             /* 64-bit words per set: rules / 64, rounded up */
    const uint64_t *class_sets; /* NB_CLASS_SETS x words */
    /* Every bit set: the set of a field with a single interval. No rule cuts
     * such a field, so every rule matches all of it, and it is not searched. */
    const uint64_t *all;
    struct field32 sport, dport, src4, dst4;
    struct field128 src6, dst6;
};

enum field { F_SPORT, F_DPORT, F_SRC4, F_DST4, F_SRC6, F_DST6, NB_FIELDS };

static const uint8_t class_proto[NB_PROTO_CLASSES] = {
    [PC_ICMP] = IPPROTO_ICMP_, [PC_TCP] = IPPROTO_TCP_, [PC_UDP] = IPPROTO_UDP_,
    [PC_OTHER] = 0,
};

static unsigned proto_class(uint8_t rule_proto)
{
    switch (rule_proto) {
    case IPPROTO_ICMP_:
        return PC_ICMP;
    case IPPROTO_TCP_:
        return PC_TCP;
    case IPPROTO_UDP_:
        return PC_UDP;
    }
    return PC_OTHER;
}

static unsigned class_index(unsigned family6, unsigned pclass, unsigned has_ports)
{
    return (family6 * NB_PROTO_CLASSES + pclass) * 2 + has_ports;
}

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline bool u128_le(struct u128 a, struct u128 b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

/* The set of the interval that holds v: the last first value <= v, looked
 * for among the intervals v's top 8 bits allow. */
static inline const uint64_t *field32_set(const struct field32 *f, uint32_t v, uint32_t words)
{
    uint32_t top = v >> f->shift;
    const uint32_t *base = f->first + f->dir[top];
    uint32_t n = (uint32_t)f->dir[top + 1] - f->dir[top] + 1;

    while (n > 1) {
        uint32_t half = n / 2;
        base = base[half] <= v ? base + half : base;
        n -= half;
    }
    return f->sets + (size_t)(base - f->first) * words;
}

static inline const uint64_t *field128_set(const struct field128 *f, struct u128 v,
                                           uint32_t words)
{
    const struct u128 *base = f->first;
    uint32_t n = f->nb;

    while (n > 1) {
        uint32_t half = n / 2;
        base = u128_le(base[half], v) ? base + half : base;
        n -= half;
    }
    return f->sets + (size_t)(base - f->first) * words;
}

static int classify_by_sets(const struct acl_classifier *c, const struct acl_key *key)
{
    unsigned family6 = key->family == 6;
    uint32_t words = c->words;
    const uint64_t *cls = c->class_sets +
        (size_t)class_index(family6, proto_class(key_rule_proto(key)), key->has_ports) * words;
    const uint64_t *sp = c->all, *dp = c->all, *src = c->all, *dst = c->all;

    if (c->sport.nb > 1)
        sp = field32_set(&c->sport, key->sport, words);
    if (c->dport.nb > 1)
        dp = field32_set(&c->dport, key->dport, words);
    if (family6) {
        if (c->src6.nb > 1)
            src = field128_set(&c->src6, (struct u128){load_be64(key->src),
                                                       load_be64(key->src + 8)}, words);
        if (c->dst6.nb > 1)
            dst = field128_set(&c->dst6, (struct u128){load_be64(key->dst),
                                                       load_be64(key->dst + 8)}, words);
    } else {
        if (c->src4.nb > 1)
            src = field32_set(&c->src4, load_be32(key->src), words);
        if (c->dst4.nb > 1)
            dst = field32_set(&c->dst4, load_be32(key->dst), words);
    }
    for (uint32_t w = 0; w < words; w++) {
        uint64_t match = cls[w] & sp[w] & dp[w] & src[w] & dst[w];
        if (match != 0)
            return (int)(w * 64 + (uint32_t)__builtin_ctzll(match));
    }
    return -1;
}

/* --- building it --- */

static uint32_t set_words(unsigned nb_rules)
{
    return nb_rules == 0 ? 1 : (nb_rules + 63) / 64;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Field f's layout for nb intervals: first values, then sets. */
static size_t field_bytes(enum field f, size_t nb, uint32_t words)
{
    size_t value = f == F_SRC6 || f == F_DST6 ? sizeof(struct u128) : sizeof(uint32_t);
    return align8(nb * value) + nb * words * sizeof(uint64_t);
}

size_t acl_mem_bytes(unsigned nb_rules)
{
    uint32_t words = set_words(nb_rules);
    size_t cuts = 2 * (size_t)nb_rules + 1;
    size_t bytes = align8(sizeof(struct acl_classifier)) +
                   (NB_CLASS_SETS + 1) * words * sizeof(uint64_t) + cuts * sizeof(struct u128);

    for (int f = 0; f < NB_FIELDS; f++)
        bytes += field_bytes((enum field)f, cuts, words);
    return bytes;
}

static const struct u128 U128_MAX = {~0ull, ~0ull};

static struct u128 field_max(enum field f)
{
    switch (f) {
    case F_SPORT:
    case F_DPORT:
        return (struct u128){0, PORT_MAX};
    case F_SRC4:
    case F_DST4:
        return (struct u128){0, 0xffffffffu};
    default:
        return U128_MAX;
    }
}

/* The values of field f that rule r matches: [*lo, *hi]. */
static void rule_range(const struct acl_rule *r, enum field f, struct u128 *lo, struct u128 *hi)
{
    bool src = f == F_SRC4 || f == F_SRC6;
    bool has = src ? r->has_src : r->has_dst;
    const uint8_t *net = src ? r->src : r->dst;
    unsigned len = src ? r->src_len : r->dst_len;

    *lo = (struct u128){0, 0};
    *hi = field_max(f);
    switch (f) {
    case F_SPORT:
    case F_DPORT:
        if (r->has_ports) {
            lo->lo = f == F_SPORT ? r->sport_lo : r->dport_lo;
            hi->lo = f == F_SPORT ? r->sport_hi : r->dport_hi;
        }
        return;
    case F_SRC4:
    case F_DST4:
        if (has && r->family == 4) {
            lo->lo = load_be32(net);
            hi->lo = lo->lo | (uint32_t)(0xffffffffull >> len);
        }
        return;
    default:
        if (has && r->family == 6) {
            unsigned hi_len = len > 64 ? 64 : len;
            *lo = (struct u128){load_be64(net), load_be64(net + 8)};
            *hi = (struct u128){lo->hi | ~mask64(hi_len), lo->lo | ~mask64(len - hi_len)};
        }
        return;
    }
}

static struct u128 u128_next(struct u128 v)
{
    return (struct u128){v.hi + (v.lo == ~0ull), v.lo + 1};
}

static bool u128_eq(struct u128 a, struct u128 b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

/* Shell sort (Ciura's gaps): no recursion, no allocation, n <= 513. */
static void sort_u128(struct u128 *v, size_t n)
{
    static const size_t gaps[] = {301, 132, 57, 23, 10, 4, 1};

    for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        size_t gap = gaps[g];
        for (size_t i = gap; i < n; i++) {
            struct u128 x = v[i];
            size_t j = i;
            for (; j >= gap && !u128_le(v[j - gap], x); j -= gap)
                v[j] = v[j - gap];
            v[j] = x;
        }
    }
}

/* Index of value v, which is in the sorted cuts[0..nb). */
static size_t cut_index(const struct u128 *cuts, size_t nb, struct u128 v)
{
    size_t lo = 0, hi = nb;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (u128_le(cuts[mid], v))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Sorted, distinct first values of field f's intervals, into cuts; returns
 * how many. */
static size_t find_cuts(const struct acl *acl, enum field f, struct u128 *cuts)
{
    struct u128 max = field_max(f), lo, hi;
    size_t n = 0, distinct = 1;

    cuts[n++] = (struct u128){0, 0};
    for (unsigned i = 0; i < acl->nb_rules; i++) {
        rule_range(&acl->rules[i], f, &lo, &hi);
        if (!u128_eq(lo, (struct u128){0, 0}))
            cuts[n++] = lo;
        if (!u128_eq(hi, max))
            cuts[n++] = u128_next(hi);
    }
    sort_u128(cuts, n);
    for (size_t i = 1; i < n; i++)
        if (!u128_eq(cuts[i], cuts[distinct - 1]))
            cuts[distinct++] = cuts[i];
    return distinct;
}

/* Each interval's set: bit i where rule i's range holds the interval. */
static void fill_sets(const struct acl *acl, enum field f, const struct u128 *cuts, size_t nb,
                      uint32_t words, uint64_t *sets)
{
    struct u128 max = field_max(f), lo, hi;

    for (size_t k = 0; k < nb * words; k++)
        sets[k] = 0;
    for (unsigned i = 0; i < acl->nb_rules; i++) {
        rule_range(&acl->rules[i], f, &lo, &hi);
        size_t from = cut_index(cuts, nb, lo);
        size_t to = u128_eq(hi, max) ? nb : cut_index(cuts, nb, u128_next(hi));
        for (size_t k = from; k < to; k++)
            sets[k * words + i / 64] |= 1ull << (i % 64);
    }
}

/* Takes bytes from the build's memory; acl_mem_bytes counted them all. */
static void *take(uint8_t **next, size_t bytes)
{
    void *p = *next;
    *next += align8(bytes);
    return p;
}

static void build_field(const struct acl *acl, enum field f, struct u128 *cuts, uint32_t words,
                        uint8_t **next, void *out)
{
    size_t nb = find_cuts(acl, f, cuts);
    bool wide = f == F_SRC6 || f == F_DST6;
    void *first = take(next, nb * (wide ? sizeof(struct u128) : sizeof(uint32_t)));
    uint64_t *sets = take(next, nb * words * sizeof(uint64_t));

    fill_sets(acl, f, cuts, nb, words, sets);
    if (wide) {
        struct u128 *v = first;
        for (size_t k = 0; k < nb; k++)
            v[k] = cuts[k];
        *(struct field128 *)out = (struct field128){(uint32_t)nb, v, sets};
        return;
    }
    struct field32 *f32 = out;
    uint32_t *v = first;
    for (size_t k = 0; k < nb; k++)
        v[k] = (uint32_t)cuts[k].lo;
    f32->nb = (uint32_t)nb;
    f32->first = v;
    f32->sets = sets;
    f32->shift = f == F_SPORT || f == F_DPORT ? 8 : 24;
    for (uint32_t t = 0; t < DIR_SLOTS; t++)
        f32->dir[t] = (uint16_t)cut_index(cuts, nb, (struct u128){0, (uint64_t)t << f32->shift});
    f32->dir[DIR_SLOTS] = (uint16_t)(nb - 1);
}

static bool rule_in_class(const struct acl_rule *r, unsigned family6, unsigned pclass,
                          unsigned has_ports)
{
    if (r->family != 0 && r->family != (family6 ? 6 : 4))
        return false;
    if (r->proto != 0 && (pclass == PC_OTHER || r->proto != class_proto[pclass]))
        return false;
    return !r->has_ports || has_ports;
}

int acl_build(struct acl *acl, void *mem, size_t bytes)
{
    uint32_t words = set_words(acl->nb_rules);
    uint8_t *next = mem;

    if (((uintptr_t)mem & 7) != 0)
        return -PM_EINVAL;
    if (acl->nb_rules > ACL_MAX_RULES || bytes < acl_mem_bytes(acl->nb_rules))
        return -PM_ENOSPC;
    struct acl_classifier *c = take(&next, sizeof(*c));
    uint64_t *class_sets = take(&next, NB_CLASS_SETS * words * sizeof(uint64_t));
    uint64_t *all = take(&next, words * sizeof(uint64_t));
    struct u128 *cuts = take(&next, (2 * (size_t)acl->nb_rules + 1) * sizeof(struct u128));

    c->words = words;
    c->class_sets = class_sets;
    c->all = all;
    for (unsigned w = 0; w < words; w++)
        all[w] = ~0ull;
    for (unsigned k = 0; k < NB_CLASS_SETS * words; k++)
        class_sets[k] = 0;
    for (unsigned family6 = 0; family6 < 2; family6++)
        for (unsigned pc = 0; pc < NB_PROTO_CLASSES; pc++)
            for (unsigned ports = 0; ports < 2; ports++)
                for (unsigned i = 0; i < acl->nb_rules; i++)
                    if (rule_in_class(&acl->rules[i], family6, pc, ports))
                        class_sets[class_index(family6, pc, ports) * words + i / 64] |=
                            1ull << (i % 64);
    build_field(acl, F_SPORT, cuts, words, &next, &c->sport);
    build_field(acl, F_DPORT, cuts, words, &next, &c->dport);
    build_field(acl, F_SRC4, cuts, words, &next, &c->src4);
    build_field(acl, F_DST4, cuts, words, &next, &c->dst4);
    build_field(acl, F_SRC6, cuts, words, &next, &c->src6);
    build_field(acl, F_DST6, cuts, words, &next, &c->dst6);
    acl->classifier = c;
    return 0;
}

int acl_classify(const struct acl *acl, const struct acl_key *key)
{
    if (acl->classifier != NULL && (key->family == 4 || key->family == 6))
        return classify_by_sets(acl->classifier, key);
    return scan(acl, key);
}

enum acl_action acl_match(struct acl *acl, const struct acl_key *key)
{
    return acl_count(acl, acl_classify(acl, key));
}

/* --- the `acl` command ------------------------------------------------- */

/* "deny proto tcp src ... sport ... dport ..." is at most 148 characters. */
#define RULE_TEXT_MAX 160

struct text {
    char *buf;
    size_t size, len;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = fmt_vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->size ? t->len + (size_t)n : t->size - 1;
}

static const char *action_name(enum acl_action action)
{
    return action == ACL_DENY ? "deny" : "allow";
}

static const char *proto_name(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP_:
        return "tcp";
    case IPPROTO_UDP_:
        return "udp";
    case IPPROTO_ICMP_:
        return "icmp";
    }
    return "?";
}

static void text_add_prefix(struct text *t, const char *opt, uint8_t family,
                            const uint8_t addr[16], uint8_t len)
{
    char a[46];

    if (family == 4) {
        uint32_t v4 = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
                      (uint32_t)addr[2] << 8 | addr[3];
        inet_fmt_ipv4(v4, a);
    } else {
        inet_fmt_ipv6(addr, a);
    }
    text_add(t, " %s %s/%u", opt, a, (unsigned)len);
}

static void text_add_ports(struct text *t, const char *opt, uint16_t lo, uint16_t hi)
{
    if (lo == hi)
        text_add(t, " %s %u", opt, (unsigned)lo);
    else
        text_add(t, " %s %u-%u", opt, (unsigned)lo, (unsigned)hi);
}

/* The rule as a config line would say it (without "acl "). A range that
 * covers every port is left out, unless it is the only one: then it is
 * still what keeps non-first fragments from matching, so it is shown. */
static void format_rule(const struct acl_rule *r, char *buf, size_t size)
{
    struct text t = {buf, size, 0};
    bool sport_all = r->sport_lo == 0 && r->sport_hi == PORT_MAX;
    bool dport_all = r->dport_lo == 0 && r->dport_hi == PORT_MAX;

    buf[0] = '\0';
    text_add(&t, "%s", action_name(r->action));
    if (r->proto != 0)
        text_add(&t, " proto %s", proto_name(r->proto));
    if (r->has_src)
        text_add_prefix(&t, "src", r->family, r->src, r->src_len);
    if (r->has_dst)
        text_add_prefix(&t, "dst", r->family, r->dst, r->dst_len);
    if (r->has_ports && (!sport_all || dport_all))
        text_add_ports(&t, "sport", r->sport_lo, r->sport_hi);
    if (r->has_ports && !dport_all)
        text_add_ports(&t, "dport", r->dport_lo, r->dport_hi);
}

/*
 *    line         hits  rule
 *      12         1234  deny proto tcp src 10.0.0.0/8 dport 22
 *   default         99  allow
 */
void acl_print(const struct acl *acl, int (*print)(const char *fmt, ...))
{
    char text[RULE_TEXT_MAX];

    print("%7s %12s  %s\n", "line", "hits", "rule");
    for (unsigned i = 0; i < acl->nb_rules; i++) {
        const struct acl_rule *r = &acl->rules[i];
        format_rule(r, text, sizeof(text));
        print("%7u %12llu  %s\n", (unsigned)r->line, (unsigned long long)r->hits, text);
    }
    print("%7s %12llu  %s\n", "default", (unsigned long long)acl->default_hits,
          action_name(acl->default_action));
}
