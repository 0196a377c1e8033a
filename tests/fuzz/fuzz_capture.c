/*
 * libFuzzer target: the capture control channel (net/capture.c), one
 * command per line as COM2 delivers them, with packets in between.
 *
 * The input is
 *
 *   byte 0      the number of ports the image has, 1..CAPTURE_MAX_PORTS
 *   the rest    lines of text, each given to capture_command as it is
 *
 * After every command, a 60-byte frame goes through capture_packet at each
 * capture point of every port, and the queue is drained through a sink
 * port. What must hold, whatever the input:
 *
 *   - every reply starts with "capture: " and fits its buffer;
 *   - while a capture runs, its filter is one the validator accepts (a
 *     start that fails must not leave a half-written program running), its
 *     points name only existing ports, and snap and queue are in range;
 *   - each capture_packet the capture wants ends as exactly one of copied,
 *     filtered or queue drop, and one it does not want changes nothing;
 *   - at the end every buffer is back in the pool.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/bpf.h"
#include "net/capture.h"
#include "net/pool.h"
#include "net/ring.h"
#include "tests/models/sink_netdev.h"

#define QUEUE_SLOTS 8
#define POOL_BYTES  (4u << 20)
#define LINE_MAX    4096

static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 0x12 };

static void check_running(const struct capture *c, uint16_t nb_ports)
{
    if (!c->active)
        return;
    if (c->nb_insns == 0 || c->nb_insns > BPF_MAX_INSNS ||
        bpf_validate(c->prog, c->nb_insns, NULL, 0) != 0)
        abort();
    for (int pt = 0; pt < 3; pt++)
        if (c->points[pt] >> nb_ports)
            abort();
    if (c->snap == 0 || c->snap > 65535 || c->queue_limit == 0 || c->queue_limit > QUEUE_SLOTS)
        abort();
}

static void offer_frame(struct capture *c, struct pool *pool, uint16_t nb_ports, uint64_t now)
{
    struct pktbuf *b = pool_get(pool);

    if (b == NULL)
        abort();
    uint8_t *d = pktbuf_data(b);
    for (unsigned i = 0; i < 60; i++)
        d[i] = (uint8_t)(i * 7 + now);
    d[12] = 0x08;
    d[13] = 0x00;
    b->data_len = 60;
    for (int pt = 0; pt < 3; pt++) {
        for (uint16_t port = 0; port < nb_ports; port++) {
            uint64_t before = c->captured + c->filtered + c->queue_drops;
            bool wanted = capture_wants(c, (enum capture_point)pt, port);
            if (wanted)
                capture_packet(c, b, (enum capture_point)pt, port, 0, now);
            if (c->captured + c->filtered + c->queue_drops != before + (wanted ? 1 : 0))
                abort();
        }
    }
    pktbuf_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *pool_mem, *ring_mem;
    static struct capture cap;
    static struct sink_netdev sink;
    static char line[LINE_MAX + 1];
    char reply[256];

    if (size < 1)
        return 0;
    if (pool_mem == NULL) {
        pool_mem = aligned_alloc(4096, POOL_BYTES);
        ring_mem = aligned_alloc(64, ring_mem_bytes(QUEUE_SLOTS));
    }
    struct pool *pool = pool_create(pool_mem, (dma_addr_t)(uintptr_t)pool_mem, POOL_BYTES, 0);
    capture_init(&cap, pool, ring_init(ring_mem, QUEUE_SLOTS), mac, 0);
    sink_netdev_init(&sink, 0, mac, pool);
    uint16_t nb_ports = (uint16_t)(data[0] % CAPTURE_MAX_PORTS + 1);

    size_t at = 1;
    for (uint64_t now = 1; at < size; now++) {
        size_t n = 0;
        while (at + n < size && data[at + n] != '\n' && n < LINE_MAX)
            n++;
        memcpy(line, data + at, n);
        line[n] = '\0';
        at += n + 1;

        memset(reply, 0x5a, sizeof(reply));
        capture_command(&cap, line, nb_ports, reply, sizeof(reply));
        if (memchr(reply, '\0', sizeof(reply)) == NULL || strncmp(reply, "capture: ", 9) != 0)
            abort();
        check_running(&cap, nb_ports);
        offer_frame(&cap, pool, nb_ports, now);
        while (capture_drain(&cap, &sink.nd) > 0)
            ;
    }
    if (pool_in_use(pool) != 0)
        abort();
    return 0;
}
