/*
 * Live capture inside the image; see capture.h for the protocol and the
 * wire format.
 *
 * A copy is made only when the filter accepts the packet, the queue has
 * room and the pool has more than CAPTURE_POOL_RESERVE buffers free: the
 * capture must never starve forwarding of buffers or time. What it cannot
 * copy is counted in queue_drops and shows in `capture status` and pktcap's
 * summary. The copy carries the original frame up to the snap length.
 */
#include "net/capture.h"

#include "net/errno.h"
#include "net/fmt.h"
#include "net/netdev.h"
#include "net/pool.h"
#include "net/proto.h"
#include "net/ring.h"

#define HDR_BYTES (ETH_HDR_LEN + sizeof(struct capture_wire_hdr))

void capture_init(struct capture *c, struct pool *pool, struct ring *queue,
                  const uint8_t mac[6], uint64_t epoch_ns)
{
    c->active = false;
    c->pool = pool;
    c->queue = queue;
    c->epoch_ns = epoch_ns;
    for (int i = 0; i < 6; i++)
        c->src_mac[i] = mac[i];
    c->captured = c->filtered = c->queue_drops = c->sent = c->tx_drops = 0;
}

/* --- the command parser ------------------------------------------------------ */

static bool word_is(const char *s, size_t n, const char *w)
{
    size_t i = 0;
    for (; i < n && w[i] != '\0'; i++)
        if (s[i] != w[i])
            return false;
    return i == n && w[i] == '\0';
}

static bool starts_with(const char *s, size_t n, const char *prefix, size_t *plen)
{
    size_t i = 0;
    for (; prefix[i] != '\0'; i++)
        if (i >= n || s[i] != prefix[i])
            return false;
    *plen = i;
    return true;
}

static bool parse_uint(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > max)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* One point: rxN | txN | dropN | rx* | tx* | drop* */
static bool parse_point(const char *s, size_t n, uint16_t nb_ports, uint8_t points[3])
{
    static const char *const names[3] = { "rx", "tx", "drop" };
    for (int pt = 0; pt < 3; pt++) {
        size_t plen;
        if (!starts_with(s, n, names[pt], &plen))
            continue;
        uint8_t all = (uint8_t)((1u << nb_ports) - 1);
        if (n == plen + 1 && s[plen] == '*') {
            points[pt] |= all;
            return true;
        }
        uint32_t port;
        if (!parse_uint(s + plen, n - plen, nb_ports - 1u, &port))
            return false;
        points[pt] |= (uint8_t)(1u << port);
        return true;
    }
    return false;
}

static bool parse_points(const char *s, size_t n, uint16_t nb_ports, uint8_t points[3])
{
    size_t start = 0;
    while (start < n) {
        size_t end = start;
        while (end < n && s[end] != ',')
            end++;
        if (!parse_point(s + start, end - start, nb_ports, points))
            return false;
        start = end + 1;
    }
    return n > 0;
}

struct start_args {
    uint8_t points[3];
    uint32_t snap;
    uint32_t queue;
    const char *hex;
    size_t hex_len;
};

static int parse_start(const char *a, uint16_t nb_ports, uint32_t queue_size,
                       struct start_args *sa, char *why, size_t why_size)
{
    *sa = (struct start_args){ .snap = 65535, .queue = queue_size };
    while (*a != '\0') {
        while (*a == ' ')
            a++;
        size_t n = 0, plen;
        while (a[n] != '\0' && a[n] != ' ')
            n++;
        if (n == 0)
            break;
        if (starts_with(a, n, "points=", &plen)) {
            if (!parse_points(a + plen, n - plen, nb_ports, sa->points)) {
                fmt_snprintf(why, why_size, "bad points '%.*s' (rxN txN dropN rx* tx* drop*, "
                             "N < %u)", (int)n, a, nb_ports);
                return -PM_EINVAL;
            }
        } else if (starts_with(a, n, "snap=", &plen)) {
            if (!parse_uint(a + plen, n - plen, 65535, &sa->snap) || sa->snap == 0) {
                fmt_snprintf(why, why_size, "bad snap '%.*s' (1..65535)", (int)n, a);
                return -PM_EINVAL;
            }
        } else if (starts_with(a, n, "queue=", &plen)) {
            if (!parse_uint(a + plen, n - plen, queue_size, &sa->queue) || sa->queue == 0) {
                fmt_snprintf(why, why_size, "bad queue '%.*s' (1..%u)", (int)n, a, queue_size);
                return -PM_EINVAL;
            }
        } else if (starts_with(a, n, "bpf=", &plen)) {
            sa->hex = a + plen;
            sa->hex_len = n - plen;
        } else {
            fmt_snprintf(why, why_size, "unknown argument '%.*s'", (int)n, a);
            return -PM_EINVAL;
        }
        a += n;
    }
    if ((sa->points[0] | sa->points[1] | sa->points[2]) == 0) {
        fmt_snprintf(why, why_size, "no capture points (points=...)");
        return -PM_EINVAL;
    }
    if (sa->hex == NULL) {
        fmt_snprintf(why, why_size, "no filter (bpf=HEX)");
        return -PM_EINVAL;
    }
    return 0;
}

static void print_points(const struct capture *c, char *buf, size_t size)
{
    static const char *const names[3] = { "rx", "tx", "drop" };
    size_t used = 0;
    buf[0] = '\0';
    for (int pt = 0; pt < 3; pt++)
        for (int port = 0; port < CAPTURE_MAX_PORTS; port++)
            if (((c->points[pt] >> port) & 1) && used < size)
                used += (size_t)fmt_snprintf(buf + used, size - used, "%s%s%d",
                                             used ? "," : "", names[pt], port);
}

static void do_start(struct capture *c, const char *args, uint16_t nb_ports, char *reply,
                     size_t reply_size)
{
    struct start_args sa;
    char why[96];
    if (parse_start(args, nb_ports, c->queue->size, &sa, why, sizeof(why)) < 0) {
        fmt_snprintf(reply, reply_size, "capture: error %s", why);
        return;
    }
    /* The new filter is parsed and validated aside: a start that fails
     * leaves a running capture exactly as it was. */
    int n = bpf_parse_hex(sa.hex, sa.hex_len, c->staged, BPF_MAX_INSNS);
    if (n < 0) {
        fmt_snprintf(reply, reply_size, "capture: error bpf= is not 1..%u instructions of 16 "
                     "hex digits", BPF_MAX_INSNS);
        return;
    }
    if (bpf_validate(c->staged, (unsigned)n, why, sizeof(why)) < 0) {
        fmt_snprintf(reply, reply_size, "capture: error filter rejected: %s", why);
        return;
    }
    for (int i = 0; i < n; i++)
        c->prog[i] = c->staged[i];
    c->nb_insns = (unsigned)n;
    c->snap = sa.snap;
    c->queue_limit = sa.queue;
    for (int i = 0; i < 3; i++)
        c->points[i] = sa.points[i];
    c->captured = c->filtered = c->queue_drops = c->sent = c->tx_drops = 0;
    c->seq = 0;
    c->active = true;
    char pts[160];
    print_points(c, pts, sizeof(pts));
    fmt_snprintf(reply, reply_size, "capture: ok started points=%s insns=%u snap=%u queue=%u",
                 pts, c->nb_insns, c->snap, c->queue_limit);
}

static void print_counters(const struct capture *c, const char *what, char *reply, size_t size)
{
    fmt_snprintf(reply, size, "capture: %s active=%d captured=%llu queue_drops=%llu "
                 "filtered=%llu sent=%llu tx_drops=%llu", what, c->active ? 1 : 0,
                 (unsigned long long)c->captured, (unsigned long long)c->queue_drops,
                 (unsigned long long)c->filtered, (unsigned long long)c->sent,
                 (unsigned long long)c->tx_drops);
}

void capture_command(struct capture *c, const char *args, uint16_t nb_ports, char *reply,
                     size_t reply_size)
{
    while (*args == ' ')
        args++;
    size_t n = 0;
    while (args[n] != '\0' && args[n] != ' ')
        n++;
    if (word_is(args, n, "start")) {
        do_start(c, args + n, nb_ports, reply, reply_size);
    } else if (word_is(args, n, "stop")) {
        c->active = false;
        print_counters(c, "ok stopped", reply, reply_size);
    } else if (word_is(args, n, "status")) {
        print_counters(c, "status", reply, reply_size);
    } else {
        fmt_snprintf(reply, reply_size, "capture: error expected start|stop|status");
    }
}

/* --- the packet path --------------------------------------------------------- */

static void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

static void write_header(struct capture *c, uint8_t *h, enum capture_point pt, uint16_t port,
                         uint16_t reason, uint32_t orig_len, uint32_t cap_len, uint64_t ts)
{
    for (int i = 0; i < 6; i++) {
        h[i] = 0xff;
        h[6 + i] = c->src_mac[i];
    }
    put_be16(h + 12, CAPTURE_ETHERTYPE);
    uint8_t *w = h + ETH_HDR_LEN;
    put_be32(w, CAPTURE_MAGIC);
    w[4] = CAPTURE_VERSION;
    w[5] = (uint8_t)pt;
    put_be16(w + 6, port);
    put_be16(w + 8, reason);
    put_be16(w + 10, 0);
    put_be32(w + 12, orig_len);
    put_be32(w + 16, cap_len);
    put_be32(w + 20, (uint32_t)(ts >> 32));
    put_be32(w + 24, (uint32_t)ts);
    put_be32(w + 28, c->seq++);
}

void capture_packet(struct capture *c, const struct pktbuf *pkt, enum capture_point pt,
                    uint16_t port, uint16_t drop_reason, uint64_t now_ns)
{
    const uint8_t *frame = pktbuf_data((struct pktbuf *)pkt);
    uint32_t snap = bpf_run(c->prog, frame, pkt->data_len, pkt->data_len);
    if (snap == 0) {
        c->filtered++;
        return;
    }
    if (ring_count(c->queue) >= c->queue_limit || pool_free_count(c->pool) <= CAPTURE_POOL_RESERVE) {
        c->queue_drops++;
        return;
    }
    struct pktbuf *copy = pool_get(c->pool);
    if (copy == NULL) {
        c->queue_drops++;
        return;
    }
    uint32_t cap_len = pkt->data_len;
    if (cap_len > snap)
        cap_len = snap;
    if (cap_len > c->snap)
        cap_len = c->snap;
    if (cap_len > PKTBUF_DATA_ROOM - HDR_BYTES)
        cap_len = PKTBUF_DATA_ROOM - HDR_BYTES;
    uint8_t *out = pktbuf_data(copy);
    write_header(c, out, pt, port, drop_reason, pkt->data_len, cap_len, c->epoch_ns + now_ns);
    for (uint32_t i = 0; i < cap_len; i++)
        out[HDR_BYTES + i] = frame[i];
    copy->data_len = (uint16_t)(HDR_BYTES + cap_len);
    void *obj = copy;
    ring_enqueue_burst(c->queue, &obj, 1);
    c->captured++;
}

unsigned capture_drain(struct capture *c, struct netdev *dev)
{
    void *objs[CAPTURE_DRAIN_BURST];
    unsigned n = ring_dequeue_burst(c->queue, objs, CAPTURE_DRAIN_BURST);
    if (n == 0)
        return 0;
    struct pktbuf **pkts = (struct pktbuf **)objs;
    uint16_t sent = netdev_tx_burst(dev, pkts, (uint16_t)n);
    c->sent += sent;
    if (sent < n) {
        c->tx_drops += n - sent;
        pktbuf_free_bulk(pkts + sent, n - sent);
    }
    return n;
}
