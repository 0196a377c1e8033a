/*
 * config: pktmetal.conf parser (format in config.h, directive list in
 * DESIGN.md "Config directives").
 *
 * The text is cut into lines, each line is checked (length, stray bytes),
 * its comment dropped and the rest split into tokens that point into the
 * caller's text:
 *
 *   "arena-mb   128  # big\r\n"
 *    ^^^^^^^^   ^^^
 *    tok[0]     tok[1]        nb_tokens = 2
 *
 * tok[0] names a directive, found in config_directives[] below, which gives
 * how many values it takes, whether it may repeat, and the handler that
 * parses the values into struct config. A new directive is one row in that
 * table plus its handler; handlers use parse_u32() and parse_keyword() so
 * every message has the same shape:
 *
 *   config:LINE: DIRECTIVE: 'TOKEN' is not a number
 *
 * Parsing stops at the first error. Freestanding: no libc.
 */
#include <stdbool.h>

#include "net/config.h"
#include "net/text.h"
#include "net/errno.h"
#include "net/fmt.h"
#include "net/inet.h"
#include "net/router.h"
#include "net/token.h"

/* Tokens kept per line (the directive and its values); a line may hold
 * more, which are counted so "expects 1 value, got 20" can say so. */
#define CONFIG_MAX_TOKENS 24

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct config_line {
    struct config_token tokens[CONFIG_MAX_TOKENS];
    size_t nb_tokens;       /* all tokens on the line, kept or not */
};

struct config_directive;

struct config_parser {
    struct config *cfg;
    char *err;
    size_t err_size;
    uint32_t line_no;                           /* 1-based */
    const struct config_directive *directive;   /* the one being parsed */
    uint32_t *first_line;   /* per directive: line it was first seen on, 0 if not yet */
};

/* Parses nb_values values (already counted against the table row) into
 * p->cfg. Returns 0, or a negative PM_E* after parse_error(). */
typedef int (*config_handler_fn)(struct config_parser *p,
                                 const struct config_token *values,
                                 size_t nb_values);

struct config_directive {
    const char *name;
    uint8_t min_values;
    uint8_t max_values;     /* < CONFIG_MAX_TOKENS */
    bool repeatable;        /* e.g. route, acl: may appear on many lines */
    config_handler_fn handle;
};

/* A word a directive accepts, and the value it stands for. */
struct config_keyword {
    const char *name;
    int value;
};

void config_defaults(struct config *cfg)
{
    *cfg = (struct config){
        .mode = CONFIG_MODE_L2FWD,
        .rx_ring = 512,
        .tx_ring = 512,
        .virtio_event_idx = true,
        .bridge_age_s = 300,
        .icmp_rate = ROUTER_ICMP_RATE,
        .icmp_echo_rate = ROUTER_ECHO_RATE,
        .idle_halt = true,
        .idle_polls = 200,
        .idle_min_us = 10,
        .idle_max_us = 100,
        .idle_wake_max_us = 2000,
        .idle_batch = 0,
        .idle_batch_us = 100,
        .arena_mb = 64,
        .stats_interval_ms = 1000,
        .selftest_fault = SELFTEST_FAULT_NONE,
        .selftest_wait_ms = 0,
    };
    acl_init(&cfg->acl);
}

/* Writes "config:LINE: " and the message into the caller's buffer; returns
 * ret so a handler can end with "return parse_error(...)". */
static int parse_error(struct config_parser *p, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int parse_error(struct config_parser *p, int ret, const char *fmt, ...)
{
    va_list ap;

    if (p->err == NULL || p->err_size == 0)
        return ret;
    int n = fmt_snprintf(p->err, p->err_size, "config:%u: ", (unsigned)p->line_no);
    if (n < 0 || (size_t)n >= p->err_size)
        return ret;
    va_start(ap, fmt);
    fmt_vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
    va_end(ap);
    return ret;
}

static bool is_number(const struct config_token *tok)
{
    if (tok->len == 0)
        return false;
    for (size_t i = 0; i < tok->len; i++) {
        if (tok->s[i] < '0' || tok->s[i] > '9')
            return false;
    }
    return true;
}

/* Reads a decimal number into min..max. Digits only: no sign, no hex. */
static int parse_u32(struct config_parser *p, const struct config_token *tok,
                     uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;

    if (!is_number(tok))
        return parse_error(p, -PM_EINVAL, "%s: '%.*s' is not a number",
                           p->directive->name, TOKEN_ARGS(tok));
    /* Stop accumulating once past any uint32_t: v stays far below
     * UINT64_MAX however many digits follow, and the range check rejects it. */
    for (size_t i = 0; i < tok->len && v <= UINT32_MAX; i++)
        v = v * 10 + (uint64_t)(tok->s[i] - '0');
    if (v < min || v > max)
        return parse_error(p, -PM_ERANGE, "%s: %.*s out of range %u..%u",
                           p->directive->name, TOKEN_ARGS(tok),
                           (unsigned)min, (unsigned)max);
    *out = (uint32_t)v;
    return 0;
}

/* Matches tok against a keyword list; the error names every choice. */
static int parse_keyword(struct config_parser *p, const struct config_token *tok,
                         const struct config_keyword *keywords, size_t nb_keywords,
                         int *out)
{
    char choices[128];
    size_t used = 0;

    for (size_t i = 0; i < nb_keywords; i++) {
        if (token_is(tok, keywords[i].name)) {
            *out = keywords[i].value;
            return 0;
        }
    }
    choices[0] = '\0';
    for (size_t i = 0; i < nb_keywords && used < sizeof(choices); i++)
        used += (size_t)fmt_snprintf(choices + used, sizeof(choices) - used, "%s%s",
                                     i > 0 ? "|" : "", keywords[i].name);
    return parse_error(p, -PM_EINVAL, "%s: '%.*s' is not one of %s",
                       p->directive->name, TOKEN_ARGS(tok), choices);
}

/* --- handlers: one per directive, in table order ---------------------- */

static int handle_arena_mb(struct config_parser *p,
                           const struct config_token *values, size_t nb_values)
{
    uint32_t mb = 0;
    int ret = parse_u32(p, &values[0], 8, 4096, &mb);

    (void)nb_values;
    if (ret < 0)
        return ret;
    /* The arena is mapped with 2 MiB pages; an odd size would leave half a
     * page that the page tables cannot describe. */
    if (mb % 2 != 0)
        return parse_error(p, -PM_EINVAL, "%s: %.*s must be even (2 MiB pages)",
                           p->directive->name, TOKEN_ARGS(&values[0]));
    p->cfg->arena_mb = mb;
    return 0;
}

static int handle_stats_interval_ms(struct config_parser *p,
                                    const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_u32(p, &values[0], 10, 3600000, &p->cfg->stats_interval_ms);
}

static int handle_selftest_fault(struct config_parser *p,
                                 const struct config_token *values, size_t nb_values)
{
    static const struct config_keyword faults[] = {
        { "page",   SELFTEST_FAULT_PAGE },
        { "stack",  SELFTEST_FAULT_STACK },
        { "divide", SELFTEST_FAULT_DIVIDE },
        { "panic",  SELFTEST_FAULT_PANIC },
    };
    int fault = SELFTEST_FAULT_NONE;
    int ret = parse_keyword(p, &values[0], faults, ARRAY_SIZE(faults), &fault);

    (void)nb_values;
    if (ret < 0)
        return ret;
    p->cfg->selftest_fault = (enum selftest_fault)fault;
    return 0;
}

static int handle_selftest_wait_ms(struct config_parser *p,
                                   const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_u32(p, &values[0], 1, 600000, &p->cfg->selftest_wait_ms);
}

static int handle_mode(struct config_parser *p,
                       const struct config_token *values, size_t nb_values)
{
    static const struct config_keyword modes[] = {
        { "l2fwd",   CONFIG_MODE_L2FWD },
        { "reflect", CONFIG_MODE_REFLECT },
        { "bridge",  CONFIG_MODE_BRIDGE },
        { "router",  CONFIG_MODE_ROUTER },
    };
    int mode = CONFIG_MODE_L2FWD;
    int ret = parse_keyword(p, &values[0], modes, ARRAY_SIZE(modes), &mode);

    (void)nb_values;
    if (ret < 0)
        return ret;
    p->cfg->mode = (enum config_mode)mode;
    p->cfg->mode_line = p->line_no;
    return 0;
}

/* Ring sizes: the drivers need a power of two (one wrap mask), and the e1000
 * ring length must be a multiple of 128 bytes = 8 descriptors. */
static int parse_ring_size(struct config_parser *p, const struct config_token *tok,
                           uint32_t *out)
{
    uint32_t n = 0;
    int ret = parse_u32(p, tok, 64, 4096, &n);

    if (ret < 0)
        return ret;
    if ((n & (n - 1)) != 0)
        return parse_error(p, -PM_EINVAL, "%s: %.*s is not a power of two",
                           p->directive->name, TOKEN_ARGS(tok));
    *out = n;
    return 0;
}

static int handle_rx_ring(struct config_parser *p,
                          const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_ring_size(p, &values[0], &p->cfg->rx_ring);
}

static int handle_tx_ring(struct config_parser *p,
                          const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_ring_size(p, &values[0], &p->cfg->tx_ring);
}

/* Six two-digit hex bytes separated by ':' (17 characters). */
static int parse_mac(struct config_parser *p, const struct config_token *tok, uint8_t mac[6])
{
    if (tok->len != 17)
        goto bad;
    for (size_t i = 0; i < 6; i++) {
        int hi = text_hex_digit(tok->s[i * 3]), lo = text_hex_digit(tok->s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && tok->s[i * 3 + 2] != ':'))
            goto bad;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
bad:
    return parse_error(p, -PM_EINVAL, "%s: '%.*s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
                       p->directive->name, TOKEN_ARGS(tok));
}

static int port_peer_mac(struct config_parser *p, struct config_port *port, unsigned n,
                         const struct config_token *mac)
{
    if (port->has_peer_mac)
        return parse_error(p, -PM_EEXIST, "port %u peer-mac given twice", n);
    int ret = parse_mac(p, mac, port->peer_mac);
    if (ret == 0)
        port->has_peer_mac = true;
    return ret;
}

/* An interface address: host bits are the point, but the network and
 * broadcast addresses of the subnet are not usable as one (RFC 1812 4.2.3.1)
 * except on /31 and /32. */
static int port_ip(struct config_parser *p, struct config_port *port, unsigned n,
                   const struct config_token *tok)
{
    uint32_t addr;
    uint8_t len;

    if (port->has_ip)
        return parse_error(p, -PM_EEXIST, "port %u ip given twice (first on line %u)", n,
                           (unsigned)port->ip_line);
    if (!inet_parse_prefix4(tok, &addr, &len, true))
        return parse_error(p, -PM_EINVAL, "port %u ip: '%.*s' is not A.B.C.D/LEN", n,
                           TOKEN_ARGS(tok));
    if (len == 0 || len == 32)
        return parse_error(p, -PM_EINVAL,
                           "port %u ip: '%.*s': prefix length must be 1..31 (it is a network)",
                           n, TOKEN_ARGS(tok));
    uint32_t host = addr & ~inet_mask4(len);
    if (len < 31 && (host == 0 || host == ~inet_mask4(len)))
        return parse_error(p, -PM_EINVAL,
                           "port %u ip: '%.*s' is the network or broadcast address", n,
                           TOKEN_ARGS(tok));
    port->has_ip = true;
    port->ip = addr;
    port->ip_len = len;
    port->ip_line = p->line_no;
    return 0;
}

/* port N role capture: the port captured frames leave by (net/capture.h).
 * One at most; it forwards nothing. */
static int port_role(struct config_parser *p, struct config_port *port, unsigned n,
                     const struct config_token *tok)
{
    if (!token_is(tok, "capture"))
        return parse_error(p, -PM_EINVAL, "port %u role: '%.*s' is not one of capture", n,
                           TOKEN_ARGS(tok));
    for (unsigned i = 0; i < CONFIG_MAX_PORTS; i++)
        if (p->cfg->ports[i].is_capture)
            return parse_error(p, -PM_EEXIST, "port %u role capture: port %u already is", n, i);
    port->is_capture = true;
    port->role_line = p->line_no;
    return 0;
}

/* port N peer-mac MAC | port N ip A.B.C.D/LEN | port N role capture */
static int handle_port(struct config_parser *p,
                       const struct config_token *values, size_t nb_values)
{
    enum { PORT_PEER_MAC, PORT_IP, PORT_ROLE };
    static const struct config_keyword settings[] = {
        { "peer-mac", PORT_PEER_MAC },
        { "ip",       PORT_IP },
        { "role",     PORT_ROLE },
    };
    uint32_t n = 0;
    int setting = 0;
    int ret = parse_u32(p, &values[0], 0, CONFIG_MAX_PORTS - 1, &n);

    if (ret == 0)
        ret = parse_keyword(p, &values[1], settings, ARRAY_SIZE(settings), &setting);
    if (ret < 0)
        return ret;
    if (nb_values != 3)
        return parse_error(p, -PM_EINVAL, "port %u %.*s: expects 1 value, got %zu",
                           (unsigned)n, TOKEN_ARGS(&values[1]), nb_values - 2);
    struct config_port *port = &p->cfg->ports[n];
    if (port->line == 0)
        port->line = p->line_no;
    if (setting == PORT_PEER_MAC)
        return port_peer_mac(p, port, (unsigned)n, &values[2]);
    if (setting == PORT_ROLE)
        return port_role(p, port, (unsigned)n, &values[2]);
    return port_ip(p, port, (unsigned)n, &values[2]);
}

/* route PREFIX/LEN via GW | route default via GW */
static int handle_route(struct config_parser *p,
                        const struct config_token *values, size_t nb_values)
{
    struct config_route r = { .line = p->line_no };

    (void)nb_values;
    if (p->cfg->nb_routes == CONFIG_MAX_ROUTES)
        return parse_error(p, -PM_ENOSPC, "route: too many routes (max %u)",
                           CONFIG_MAX_ROUTES);
    if (token_is(&values[0], "default")) {
        r.prefix = 0;
        r.len = 0;
    } else if (!inet_parse_prefix4(&values[0], &r.prefix, &r.len, false)) {
        return parse_error(p, -PM_EINVAL,
                           "route: '%.*s' is not a prefix A.B.C.D/LEN with no host bits set",
                           TOKEN_ARGS(&values[0]));
    }
    if (!token_is(&values[1], "via"))
        return parse_error(p, -PM_EINVAL, "route: expected 'via', got '%.*s'",
                           TOKEN_ARGS(&values[1]));
    if (!inet_parse_ipv4(&values[2], &r.gw))
        return parse_error(p, -PM_EINVAL, "route: next hop '%.*s' is not an IPv4 address",
                           TOKEN_ARGS(&values[2]));
    for (uint32_t i = 0; i < p->cfg->nb_routes; i++) {
        const struct config_route *o = &p->cfg->routes[i];
        if (o->prefix == r.prefix && o->len == r.len)
            return parse_error(p, -PM_EEXIST, "route: %.*s given twice (first on line %u)",
                               TOKEN_ARGS(&values[0]), (unsigned)o->line);
    }
    p->cfg->routes[p->cfg->nb_routes++] = r;
    return 0;
}

/* neighbor IP MAC */
static int handle_neighbor(struct config_parser *p,
                           const struct config_token *values, size_t nb_values)
{
    struct config_neighbor nb = { .line = p->line_no };

    (void)nb_values;
    if (p->cfg->nb_neighbors == CONFIG_MAX_NEIGHBORS)
        return parse_error(p, -PM_ENOSPC, "neighbor: too many entries (max %u)",
                           CONFIG_MAX_NEIGHBORS);
    if (!inet_parse_ipv4(&values[0], &nb.ip))
        return parse_error(p, -PM_EINVAL, "neighbor: '%.*s' is not an IPv4 address",
                           TOKEN_ARGS(&values[0]));
    int ret = parse_mac(p, &values[1], nb.mac);
    if (ret < 0)
        return ret;
    for (uint32_t i = 0; i < p->cfg->nb_neighbors; i++)
        if (p->cfg->neighbors[i].ip == nb.ip)
            return parse_error(p, -PM_EEXIST, "neighbor: %.*s given twice (first on line %u)",
                               TOKEN_ARGS(&values[0]), (unsigned)p->cfg->neighbors[i].line);
    p->cfg->neighbors[p->cfg->nb_neighbors++] = nb;
    return 0;
}

static int handle_bridge_age_s(struct config_parser *p,
                               const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_u32(p, &values[0], 1, 86400, &p->cfg->bridge_age_s);
}

static int handle_icmp_rate(struct config_parser *p,
                            const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_u32(p, &values[0], 1, ROUTER_ICMP_RATE_MAX, &p->cfg->icmp_rate);
}

static int handle_icmp_echo_rate(struct config_parser *p,
                                 const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_u32(p, &values[0], 1, ROUTER_ICMP_RATE_MAX, &p->cfg->icmp_echo_rate);
}

static int parse_on_off(struct config_parser *p, const struct config_token *tok, bool *out)
{
    static const struct config_keyword on_off[] = { { "on", 1 }, { "off", 0 } };
    int on = 1;
    int ret = parse_keyword(p, tok, on_off, ARRAY_SIZE(on_off), &on);

    if (ret == 0)
        *out = on != 0;
    return ret;
}

static int handle_bridge_vlan(struct config_parser *p,
                              const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_on_off(p, &values[0], &p->cfg->bridge_vlan);
}

static int handle_idle_halt(struct config_parser *p,
                            const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_on_off(p, &values[0], &p->cfg->idle_halt);
}

static int handle_idle_polls(struct config_parser *p,
                             const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_u32(p, &values[0], 1, 1000000, &p->cfg->idle_polls);
}

static int handle_idle_min_us(struct config_parser *p,
                              const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    p->cfg->idle_line = p->line_no;
    return parse_u32(p, &values[0], 1, 100000, &p->cfg->idle_min_us);
}

static int handle_idle_max_us(struct config_parser *p,
                              const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    p->cfg->idle_line = p->line_no;
    return parse_u32(p, &values[0], 1, 100000, &p->cfg->idle_max_us);
}

static int handle_idle_wake_max_us(struct config_parser *p,
                                   const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_u32(p, &values[0], 0, 100000, &p->cfg->idle_wake_max_us);
}

/* idle-batch off | idle-batch K [US]: K 0 is off as well; US keeps its
 * default when left out. */
static int handle_idle_batch(struct config_parser *p,
                             const struct config_token *values, size_t nb_values)
{
    uint32_t k = 0, us = p->cfg->idle_batch_us;
    int ret;

    if (token_is(&values[0], "off")) {
        if (nb_values > 1)
            return parse_error(p, -PM_EINVAL, "idle-batch off takes no wait, got '%.*s'",
                               TOKEN_ARGS(&values[1]));
        p->cfg->idle_batch = 0;
        return 0;
    }
    if (!is_number(&values[0]))
        return parse_error(p, -PM_EINVAL,
                           "idle-batch: '%.*s' is neither off nor a number of frames",
                           TOKEN_ARGS(&values[0]));
    ret = parse_u32(p, &values[0], 0, CONFIG_IDLE_BATCH_MAX, &k);
    if (ret == 0 && nb_values > 1)
        ret = parse_u32(p, &values[1], 1, CONFIG_IDLE_BATCH_US_MAX, &us);
    if (ret < 0)
        return ret;
    p->cfg->idle_batch = k;
    p->cfg->idle_batch_us = us;
    return 0;
}

/* acl ...: the grammar lives in acl.c; its message gets our prefix. */
static int handle_acl(struct config_parser *p,
                      const struct config_token *values, size_t nb_values)
{
    char why[160];
    int ret = acl_parse(&p->cfg->acl, values, nb_values, p->line_no, why, sizeof(why));

    if (ret < 0)
        return parse_error(p, ret, "acl: %s", why);
    return 0;
}

static int handle_virtio_event_idx(struct config_parser *p,
                                   const struct config_token *values, size_t nb_values)
{
    (void)nb_values;
    return parse_on_off(p, &values[0], &p->cfg->virtio_event_idx);
}

/* Every directive. Keep in step with DESIGN.md "Config directives". */
static const struct config_directive config_directives[] = {
    /* name                 min max repeatable handler */
    { "mode",                1,  1, false, handle_mode },
    { "rx-ring",             1,  1, false, handle_rx_ring },
    { "tx-ring",             1,  1, false, handle_tx_ring },
    { "port",                2,  8, true,  handle_port },
    { "virtio-event-idx",    1,  1, false, handle_virtio_event_idx },
    { "route",               3,  3, true,  handle_route },
    { "neighbor",            2,  2, true,  handle_neighbor },
    { "icmp-rate",           1,  1, false, handle_icmp_rate },
    { "icmp-echo-rate",      1,  1, false, handle_icmp_echo_rate },
    { "bridge-age-s",        1,  1, false, handle_bridge_age_s },
    { "bridge-vlan",         1,  1, false, handle_bridge_vlan },
    { "acl",                 1, 23, true,  handle_acl },
    { "idle-halt",           1,  1, false, handle_idle_halt },
    { "idle-polls",          1,  1, false, handle_idle_polls },
    { "idle-min-us",         1,  1, false, handle_idle_min_us },
    { "idle-max-us",         1,  1, false, handle_idle_max_us },
    { "idle-wake-max-us",    1,  1, false, handle_idle_wake_max_us },
    { "idle-batch",          1,  2, false, handle_idle_batch },
    { "arena-mb",            1,  1, false, handle_arena_mb },
    { "stats-interval-ms",   1,  1, false, handle_stats_interval_ms },
    /* test-only */
    { "selftest-fault",      1,  1, false, handle_selftest_fault },
    { "selftest-wait-ms",    1,  1, false, handle_selftest_wait_ms },
};

/* --- lines --------------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits s[0..n) at blanks. Keeps the first CONFIG_MAX_TOKENS, counts all. */
static void split_tokens(const char *s, size_t n, struct config_line *line)
{
    size_t i = 0;

    line->nb_tokens = 0;
    while (i < n) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && !is_blank(s[i]))
            i++;
        if (line->nb_tokens < CONFIG_MAX_TOKENS)
            line->tokens[line->nb_tokens] =
                (struct config_token){ .s = s + start, .len = i - start };
        line->nb_tokens++;
    }
}

/* Rejects what a text editor would not show: NUL and control bytes. Tabs
 * are blanks; bytes >= 0x80 pass, so UTF-8 comments are fine. */
static int check_bytes(struct config_parser *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            return parse_error(p, -PM_EINVAL, "NUL byte in line");
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return parse_error(p, -PM_EINVAL, "control character 0x%02x in line", c);
    }
    return 0;
}

static const struct config_directive *find_directive(const struct config_token *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(config_directives); i++) {
        if (token_is(name, config_directives[i].name))
            return &config_directives[i];
    }
    return NULL;
}

static int check_value_count(struct config_parser *p, size_t nb_values)
{
    const struct config_directive *d = p->directive;

    if (nb_values >= d->min_values && nb_values <= d->max_values)
        return 0;
    if (d->min_values == d->max_values)
        return parse_error(p, -PM_EINVAL, "%s: expects %u value%s, got %zu", d->name,
                           (unsigned)d->min_values, d->min_values == 1 ? "" : "s",
                           nb_values);
    return parse_error(p, -PM_EINVAL, "%s: expects %u..%u values, got %zu", d->name,
                       (unsigned)d->min_values, (unsigned)d->max_values, nb_values);
}

/* A directive that sets one field may appear once: a second line would
 * silently win otherwise, and that is rarely what its writer meant. */
static int check_not_repeated(struct config_parser *p)
{
    const struct config_directive *d = p->directive;
    uint32_t *first = &p->first_line[d - config_directives];

    if (d->repeatable)
        return 0;
    if (*first != 0)
        return parse_error(p, -PM_EEXIST, "%s given twice (first on line %u)",
                           d->name, (unsigned)*first);
    *first = p->line_no;
    return 0;
}

static int parse_directive(struct config_parser *p, const struct config_line *line)
{
    const struct config_token *name = &line->tokens[0];
    size_t nb_values = line->nb_tokens - 1;
    int ret;

    p->directive = find_directive(name);
    if (p->directive == NULL)
        return parse_error(p, -PM_EINVAL, "unknown directive '%.*s'", TOKEN_ARGS(name));
    ret = check_value_count(p, nb_values);
    if (ret < 0)
        return ret;
    ret = check_not_repeated(p);
    if (ret < 0)
        return ret;
    return p->directive->handle(p, &line->tokens[1], nb_values);
}

/* One line, without its '\n'. */
static int parse_line(struct config_parser *p, const char *s, size_t n)
{
    struct config_line line;
    size_t content_len = 0;

    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (n > CONFIG_LINE_MAX)
        return parse_error(p, -PM_EINVAL, "line longer than %d characters",
                           CONFIG_LINE_MAX);
    int ret = check_bytes(p, s, n);
    if (ret < 0)
        return ret;
    while (content_len < n && s[content_len] != '#')
        content_len++;
    split_tokens(s, content_len, &line);
    if (line.nb_tokens == 0)
        return 0;
    return parse_directive(p, &line);
}

static size_t find_line_end(const char *text, size_t len, size_t start)
{
    size_t i = start;

    while (i < len && text[i] != '\n')
        i++;
    return i;
}

/* --- checks across lines, after the whole file is read ------------------ */

static bool nets_overlap(uint32_t a, uint8_t alen, uint32_t b, uint8_t blen)
{
    uint32_t mask = inet_mask4(alen < blen ? alen : blen);
    return (a & mask) == (b & mask);
}

/* The port whose connected network holds addr, or -1. */
static int connected_port(const struct config *cfg, uint32_t addr)
{
    for (int i = 0; i < CONFIG_MAX_PORTS; i++) {
        const struct config_port *pt = &cfg->ports[i];
        if (pt->has_ip && ((addr ^ pt->ip) & inet_mask4(pt->ip_len)) == 0)
            return i;
    }
    return -1;
}

static int check_port_networks(struct config_parser *p)
{
    const struct config *cfg = p->cfg;
    for (int j = 0; j < CONFIG_MAX_PORTS; j++) {
        const struct config_port *b = &cfg->ports[j];
        for (int i = 0; b->has_ip && i < j; i++) {
            const struct config_port *a = &cfg->ports[i];
            if (!a->has_ip || !nets_overlap(a->ip, a->ip_len, b->ip, b->ip_len))
                continue;
            char abuf[16];
            p->line_no = b->ip_line > a->ip_line ? b->ip_line : a->ip_line;
            return parse_error(p, -PM_EINVAL,
                               "port %d ip overlaps port %d's network %s/%u (line %u)", j, i,
                               inet_fmt_ipv4(a->ip & inet_mask4(a->ip_len), abuf),
                               (unsigned)a->ip_len, (unsigned)a->ip_line);
        }
    }
    return 0;
}

static int check_next_hops(struct config_parser *p)
{
    const struct config *cfg = p->cfg;
    char buf[16];
    for (uint32_t i = 0; i < cfg->nb_routes; i++) {
        if (connected_port(cfg, cfg->routes[i].gw) >= 0)
            continue;
        p->line_no = cfg->routes[i].line;
        return parse_error(p, -PM_EINVAL,
                           "route: next hop %s is not on any connected network (port N ip)",
                           inet_fmt_ipv4(cfg->routes[i].gw, buf));
    }
    for (uint32_t i = 0; i < cfg->nb_neighbors; i++) {
        if (connected_port(cfg, cfg->neighbors[i].ip) >= 0)
            continue;
        p->line_no = cfg->neighbors[i].line;
        return parse_error(p, -PM_EINVAL,
                           "neighbor: %s is not on any connected network (port N ip)",
                           inet_fmt_ipv4(cfg->neighbors[i].ip, buf));
    }
    return 0;
}

static int check_capture_port(struct config_parser *p)
{
    for (int i = 0; i < CONFIG_MAX_PORTS; i++) {
        const struct config_port *pt = &p->cfg->ports[i];
        if (pt->is_capture && pt->has_ip) {
            p->line_no = pt->ip_line;
            return parse_error(p, -PM_EINVAL,
                               "port %d has role capture and cannot have an address", i);
        }
    }
    return 0;
}

static int check_mode(struct config_parser *p)
{
    if (p->cfg->mode != CONFIG_MODE_ROUTER)
        return 0;
    for (int i = 0; i < CONFIG_MAX_PORTS; i++)
        if (p->cfg->ports[i].has_ip)
            return 0;
    p->line_no = p->cfg->mode_line;
    return parse_error(p, -PM_EINVAL, "mode router needs at least one 'port N ip A.B.C.D/LEN'");
}

static int check_idle(struct config_parser *p)
{
    if (p->cfg->idle_min_us <= p->cfg->idle_max_us)
        return 0;
    p->line_no = p->cfg->idle_line;
    return parse_error(p, -PM_EINVAL, "idle-min-us %u is above idle-max-us %u",
                       (unsigned)p->cfg->idle_min_us, (unsigned)p->cfg->idle_max_us);
}

static int config_check(struct config_parser *p)
{
    int ret = check_port_networks(p);
    if (ret == 0)
        ret = check_next_hops(p);
    if (ret == 0)
        ret = check_capture_port(p);
    if (ret == 0)
        ret = check_idle(p);
    if (ret == 0)
        ret = check_mode(p);
    return ret;
}

int config_parse(struct config *cfg, const char *text, size_t len,
                 char *err, size_t err_size)
{
    uint32_t first_line[ARRAY_SIZE(config_directives)] = { 0 };
    struct config_parser p = {
        .cfg = cfg, .err = err, .err_size = err_size, .first_line = first_line,
    };
    size_t pos = 0;

    if (err != NULL && err_size > 0)
        err[0] = '\0';
    while (pos < len) {
        size_t end = find_line_end(text, len, pos);
        p.line_no++;
        int ret = parse_line(&p, text + pos, end - pos);
        if (ret < 0)
            return ret;
        pos = end + 1;
    }
    return config_check(&p);
}

int config_check_ports(const struct config *cfg, unsigned nb_nics, char *err, size_t err_size)
{
    struct config_parser p = { .err = err, .err_size = err_size };

    for (unsigned i = 0; i < CONFIG_MAX_PORTS; i++) {
        const struct config_port *pt = &cfg->ports[i];
        if (pt->line != 0 && i >= nb_nics) {
            p.line_no = pt->line;
            if (nb_nics == 0)
                return parse_error(&p, -PM_EINVAL, "port %u: no NIC was found", i);
            if (nb_nics == 1)
                return parse_error(&p, -PM_EINVAL, "port %u: only 1 NIC found (port 0)", i);
            return parse_error(&p, -PM_EINVAL, "port %u: only %u NICs found (ports 0..%u)", i,
                               nb_nics, nb_nics - 1);
        }
        if (pt->is_capture && i + 1 != nb_nics) {
            p.line_no = pt->role_line;
            return parse_error(&p, -PM_EINVAL,
                               "port %u role capture: the capture port must be the last "
                               "port (%u)", i, nb_nics - 1);
        }
    }
    return 0;
}
