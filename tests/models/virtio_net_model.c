/*
 * Software virtio-net device (modern PCI transport, split rings): see
 * virtio_net_model.h for what it models and how strict it is.
 *
 * Register and ring layouts below are this model's own transcription of
 * VIRTIO 1.1 (4.1.4.3 common configuration, 2.6 split virtqueues, 5.1.4 and
 * 5.1.6 virtio-net), kept apart from the driver's on purpose: a misread
 * offset on one side then shows up as a failing test instead of agreeing
 * with itself.
 *
 *   BAR 4 (QEMU's modern BAR)
 *   0x0000 common cfg   0x1000 ISR   0x2000 device cfg   0x3000 notify
 *   BAR 1 (QEMU's MSI-X BAR, msix_init_exclusive_bar)
 *   0x0000 table, 16 bytes an entry   0x0800 pending bits
 *
 * MSI-X as PCI Local Bus 3.0, 6.8.2 has it: Message Control at capability
 * +2 (table size - 1, function mask bit 14, enable bit 15), Table and PBA
 * Offset/BIR at +4 and +8; an entry is address low, address high, data,
 * vector control (bit 0: masked), masked from reset.
 */
#include "tests/models/virtio_net_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/models/host_platform.h"

#define BAR_COMMON        0x0000u
#define BAR_ISR           0x1000u
#define BAR_DEVICE        0x2000u
#define BAR_NOTIFY        0x3000u
#define BLOCK_BYTES       0x1000u
#define MSIX_CAP          0x98
#define MSIX_BAR_BYTES    4096u
#define MSIX_PBA          0x800u
#define MSIX_CTRL_MASKALL (1u << 14)
#define MSIX_CTRL_ENABLE  (1u << 15)
#define MSIX_ENTRY_MASKED 1u
#define MSI_ADDR_APIC     0xfee00000u    /* the local APIC's MSI window, 1 MiB */

/* Common configuration (4.1.4.3): offset and access width of each field. */
#define CC_DFSELECT       0x00
#define CC_DF             0x04
#define CC_GFSELECT       0x08
#define CC_GF             0x0c
#define CC_MSIX_CONFIG    0x10
#define CC_NUM_QUEUES     0x12
#define CC_STATUS         0x14
#define CC_GENERATION     0x15
#define CC_Q_SELECT       0x16
#define CC_Q_SIZE         0x18
#define CC_Q_MSIX         0x1a
#define CC_Q_ENABLE       0x1c
#define CC_Q_NOTIFY_OFF   0x1e
#define CC_Q_DESC_LO      0x20
#define CC_Q_DEVICE_HI    0x34
#define CC_BYTES          0x38

#define S_ACKNOWLEDGE     0x01u
#define S_DRIVER          0x02u
#define S_DRIVER_OK       0x04u
#define S_FEATURES_OK     0x08u
#define S_NEEDS_RESET     0x40u
#define NO_VECTOR         0xffffu

#define D_NEXT            1u
#define D_WRITE           2u
#define D_INDIRECT        4u
#define AVAIL_NO_INTR     1u
#define USED_NO_NOTIFY    1u

#define NET_S_LINK_UP     1u
#define NET_HDR_BYTES     12u
#define ETH_MIN_BYTES     14u
#define RX_BUF_MIN        1526u      /* 5.1.6.3.1 */
#define RXQ               0
#define TXQ               1

/* ---- bookkeeping ---- */

static void violation(struct vnet_model *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void violation(struct vnet_model *m, const char *fmt, ...)
{
    va_list ap;

    if (m->nb_violations < VNET_MODEL_MAX_VIOLATIONS) {
        va_start(ap, fmt);
        vsnprintf(m->violations[m->nb_violations], sizeof(m->violations[0]), fmt, ap);
        va_end(ap);
    }
    m->nb_violations++;
}

static void mark_broken(struct vnet_model *m)
{
    m->broken = true;
    if (m->driver_features & VNM_BIT(VNM_F_VERSION_1))
        m->status |= S_NEEDS_RESET;
}

static void trace(struct vnet_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct vnet_model *m, const char *fmt, ...)
{
    size_t room = sizeof(m->trace) - m->trace_len;
    va_list ap;
    int n;

    if (room < 32)
        return;
    if (m->trace_len > 0)
        m->trace[m->trace_len++] = ' ', room--;
    va_start(ap, fmt);
    n = vsnprintf(m->trace + m->trace_len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->trace_len += (size_t)n < room ? (size_t)n : room - 1;
}

static bool event_idx(const struct vnet_model *m)
{
    return (m->driver_features & VNM_BIT(VNM_F_EVENT_IDX)) != 0;
}

static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* ---- guest memory (checked to be DMA memory before use) ---- */

static void *gpa(uint64_t addr)
{
    return (void *)(uintptr_t)addr;
}

static uint16_t rd16(uint64_t addr)
{
    uint16_t v;
    memcpy(&v, gpa(addr), sizeof(v));
    return v;
}

static uint32_t rd32(uint64_t addr)
{
    uint32_t v;
    memcpy(&v, gpa(addr), sizeof(v));
    return v;
}

static uint64_t rd64(uint64_t addr)
{
    uint64_t v;
    memcpy(&v, gpa(addr), sizeof(v));
    return v;
}

static void wr16(uint64_t addr, uint16_t v)
{
    memcpy(gpa(addr), &v, sizeof(v));
}

static void wr32(uint64_t addr, uint32_t v)
{
    memcpy(gpa(addr), &v, sizeof(v));
}

/* Split ring fields (2.6.6, 2.6.8). */
static uint16_t avail_flags(const struct vnet_model_queue *q) { return rd16(q->driver_addr); }
static uint16_t avail_idx(const struct vnet_model_queue *q) { return rd16(q->driver_addr + 2); }
static uint16_t avail_ring(const struct vnet_model_queue *q, uint16_t i)
{
    return rd16(q->driver_addr + 4 + 2u * (i % q->size));
}
static uint16_t used_event(const struct vnet_model_queue *q)
{
    return rd16(q->driver_addr + 4 + 2u * q->size);
}
static uint64_t used_flags_addr(const struct vnet_model_queue *q) { return q->device_addr; }
static uint64_t avail_event_addr(const struct vnet_model_queue *q)
{
    return q->device_addr + 4 + 8u * q->size;
}

struct model_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
};

static struct model_desc desc_read(const struct vnet_model_queue *q, uint16_t id)
{
    uint64_t at = q->desc_addr + 16u * id;
    struct model_desc d = { rd64(at), rd32(at + 8), rd16(at + 12) };
    return d;
}

/* ---- QEMU's notification machinery (hw/virtio/virtio.c) ---- */

static void set_avail_event(struct vnet_model_queue *q, uint16_t val)
{
    if (q->notification)             /* vring_set_avail_event: only while on */
        wr16(avail_event_addr(q), val);
}

static void set_notification(struct vnet_model *m, struct vnet_model_queue *q, bool on)
{
    uint16_t flags;

    q->notification = on;
    if (event_idx(m)) {
        set_avail_event(q, avail_idx(q));
        return;
    }
    flags = rd16(used_flags_addr(q));
    wr16(used_flags_addr(q), on ? (uint16_t)(flags & ~USED_NO_NOTIFY)
                                : (uint16_t)(flags | USED_NO_NOTIFY));
}

/* ---- MSI-X (hw/pci/msix.c) ---- */

static uint16_t msix_control(const struct vnet_model *m)
{
    return (uint16_t)(pci_model_peek32(m->fn, MSIX_CAP) >> 16);
}

static bool msix_enabled(const struct vnet_model *m)
{
    return m->cfg.msix_vectors > 0 && (msix_control(m) & MSIX_CTRL_ENABLE);
}

static bool msix_masked(const struct vnet_model *m, uint16_t vector)
{
    return (msix_control(m) & MSIX_CTRL_MASKALL) ||
           (m->msix_table[vector][3] & MSIX_ENTRY_MASKED);
}

/* msi_send_message: where the message goes must be the local APIC. */
static void msix_send(struct vnet_model *m, struct vnet_model_queue *q, uint16_t vector)
{
    uint64_t addr = m->msix_table[vector][0] | (uint64_t)m->msix_table[vector][1] << 32;
    uint32_t data = m->msix_table[vector][2];

    if ((addr & ~0xfffffull) != MSI_ADDR_APIC)
        violation(m, "MSI-X entry %u sends to 0x%llx, not the local APIC (0xFEExxxxx)",
                  vector, (unsigned long long)addr);
    if ((data & 0xff) < 16)
        violation(m, "MSI-X entry %u sends vector %u (0..15 are not for interrupts)", vector,
                  data & 0xff);
    m->nb_msi++;
    m->last_msi_addr = addr;
    m->last_msi_data = data;
    if (q != NULL)
        q->nb_msi++;
}

/* virtio_pci_notify with MSI-X enabled: msix_notify(vector). */
static void msix_notify(struct vnet_model *m, struct vnet_model_queue *q)
{
    uint16_t vector = q->msix_vector;

    if (!msix_enabled(m) || vector == NO_VECTOR || vector >= m->cfg.msix_vectors)
        return;
    if (msix_masked(m, vector)) {
        m->msix_pending |= 1u << vector;
        return;
    }
    msix_send(m, q, vector);
}

static bool msix_access_ok(struct vnet_model *m, uint64_t off, unsigned width)
{
    if (width != 4 || off % 4 != 0) {
        violation(m, "MSI-X BAR access at +0x%llx with %u bytes (aligned dwords only)",
                  (unsigned long long)off, width);
        return false;
    }
    return true;
}

static uint64_t msix_read(void *ctx, uint64_t off, unsigned width)
{
    struct vnet_model *m = ctx;

    if (!msix_access_ok(m, off, width))
        return 0;
    if (off < 16u * m->cfg.msix_vectors)
        return m->msix_table[off / 16][(off % 16) / 4];
    if (off == MSIX_PBA)
        return m->msix_pending;
    return 0;                        /* QEMU: reserved space reads 0 */
}

static void msix_write(void *ctx, uint64_t off, unsigned width, uint64_t val)
{
    struct vnet_model *m = ctx;
    unsigned entry = (unsigned)(off / 16), word = (unsigned)(off % 16) / 4;

    if (!msix_access_ok(m, off, width))
        return;
    if (off >= 16u * m->cfg.msix_vectors) {
        violation(m, "write to MSI-X BAR +0x%llx, past the table", (unsigned long long)off);
        return;
    }
    if (word < 3 && !(m->msix_table[entry][3] & MSIX_ENTRY_MASKED) && msix_enabled(m))
        violation(m, "MSI-X entry %u message changed while unmasked (6.8.2.9)", entry);
    m->msix_table[entry][word] = word == 3 ? (uint32_t)val & MSIX_ENTRY_MASKED : (uint32_t)val;
    trace(m, "msix%u.%u=%x", entry, word, (unsigned)val);
    /* msix_handle_mask_update: unmasking sends what was pending. */
    if (word == 3 && msix_enabled(m) && !msix_masked(m, (uint16_t)entry) &&
        (m->msix_pending & (1u << entry))) {
        m->msix_pending &= ~(1u << entry);
        msix_send(m, NULL, (uint16_t)entry);
    }
}

static const struct mmio_region_ops msix_ops = {
    .read = msix_read,
    .write = msix_write,
};

/* virtio_split_should_notify, then the transport's notify. */
static void maybe_interrupt(struct vnet_model *m, struct vnet_model_queue *q)
{
    bool notify;

    if (!event_idx(m)) {
        notify = !(avail_flags(q) & AVAIL_NO_INTR);
    } else {
        bool valid = q->signalled_used_valid;
        uint16_t old = q->signalled_used;

        q->signalled_used_valid = true;
        q->signalled_used = q->used_idx;
        notify = !valid || need_event(used_event(q), q->used_idx, old);
    }
    if (notify) {
        q->nb_interrupts++;
        m->isr |= 1;
        msix_notify(m, q);
    }
}

/* ---- popping and pushing (virtqueue_pop / virtqueue_push) ---- */

static bool desc_ok(struct vnet_model *m, unsigned qi, uint16_t id, const struct model_desc *d)
{
    if (d->flags & D_INDIRECT) {
        violation(m, "queue %u: descriptor %u is INDIRECT, not negotiated", qi, id);
        return false;
    }
    if (d->flags & D_NEXT) {
        violation(m, "queue %u: descriptor %u is chained (the model takes single buffers)", qi, id);
        return false;
    }
    if (d->len == 0 || !host_dma_contains(d->addr, d->len)) {
        violation(m, "queue %u: descriptor %u [0x%llx, +%u) is outside DMA memory", qi, id,
                  (unsigned long long)d->addr, d->len);
        return false;
    }
    if (m->q[qi].in_flight[id]) {
        violation(m, "queue %u: descriptor %u made available while the device owns it", qi, id);
        return false;
    }
    return true;
}

/* Takes the next available buffer. false when there is none, or (device
 * broken, as QEMU's virtio_error) when the driver's ring is not valid. */
static bool pop(struct vnet_model *m, unsigned qi, uint16_t *id, struct model_desc *d)
{
    struct vnet_model_queue *q = &m->q[qi];
    uint16_t avail, head;

    if (m->broken || !q->enabled)
        return false;
    avail = avail_idx(q);
    if ((uint16_t)(avail - q->last_avail) > q->size) {
        violation(m, "queue %u: avail idx %u moved more than %u past %u", qi, avail, q->size,
                  q->last_avail);
        mark_broken(m);
        return false;
    }
    if (avail == q->last_avail)
        return false;
    head = avail_ring(q, q->last_avail);
    if (head >= q->size) {
        violation(m, "queue %u: avail entry %u names descriptor %u of %u", qi, q->last_avail,
                  head, q->size);
        mark_broken(m);
        return false;
    }
    *d = desc_read(q, head);
    if (!desc_ok(m, qi, head, d)) {
        mark_broken(m);
        return false;
    }
    q->in_flight[head] = 1;
    q->last_avail++;
    if (event_idx(m))
        set_avail_event(q, q->last_avail);
    *id = head;
    return true;
}

/* Gives an entry back without using it (virtqueue_unpop). */
static void unpop(struct vnet_model_queue *q, uint16_t id)
{
    q->in_flight[id] = 0;
    q->last_avail--;
}

static void push(struct vnet_model *m, unsigned qi, uint16_t id, uint32_t len)
{
    struct vnet_model_queue *q = &m->q[qi];
    uint64_t elem = q->device_addr + 4 + 8u * (q->used_idx % q->size);
    uint16_t old = q->used_idx;

    wr32(elem, id);
    wr32(elem + 4, len);
    q->in_flight[id] = 0;
    q->used_idx++;
    wr16(q->device_addr + 2, q->used_idx);
    if ((int16_t)(q->used_idx - q->signalled_used) < (uint16_t)(q->used_idx - old))
        q->signalled_used_valid = false;
    maybe_interrupt(m, q);
}

/* ---- what the driver published: were the doorbells right? ---- */

/* Looks at avail->idx. Returns whether the device had asked to hear of
 * what was published since the last look; a publish it wanted to hear of
 * and that came without a doorbell is a violation. */
static bool observe(struct vnet_model *m, unsigned qi, bool is_doorbell)
{
    struct vnet_model_queue *q = &m->q[qi];
    uint16_t now;
    bool wanted;

    if (!q->enabled || m->broken)
        return true;
    now = avail_idx(q);
    if ((uint16_t)(now - q->used_idx) > q->size)
        violation(m, "queue %u: avail idx %u is more than %u ahead of used idx %u", qi, now,
                  q->size, q->used_idx);
    if (event_idx(m) && avail_flags(q) != 0 && !q->avail_flags_reported) {
        violation(m, "queue %u: avail->flags %u with EVENT_IDX (2.6.7.1: must be 0)", qi,
                  avail_flags(q));
        q->avail_flags_reported = true;
    }
    if (now == q->avail_seen)
        wanted = false;
    else if (event_idx(m))
        wanted = need_event(rd16(avail_event_addr(q)), now, q->avail_seen);
    else
        wanted = !(rd16(used_flags_addr(q)) & USED_NO_NOTIFY);
    if (!is_doorbell && wanted) {
        q->nb_missed_notify++;
        violation(m, "queue %u: entries %u..%u published without the doorbell the device "
                  "asked for", qi, q->avail_seen, (uint16_t)(now - 1));
    }
    q->avail_seen = now;
    return wanted;
}

static void sync_all(struct vnet_model *m)
{
    for (unsigned qi = 0; qi < VNET_MODEL_NB_QUEUES; qi++)
        observe(m, qi, false);
}

/* ---- TX: virtio_net_flush_tx and the bottom half ---- */

static void tx_record(struct vnet_model *m, const struct model_desc *d)
{
    struct vnet_model_frame *f = &m->tx_frames[m->nb_tx_frames % VNET_MODEL_TX_KEEP];

    f->len = (uint16_t)(d->len - NET_HDR_BYTES);
    memcpy(f->data, (const uint8_t *)gpa(d->addr) + NET_HDR_BYTES, f->len);
    m->nb_tx_frames++;
}

static bool tx_check(struct vnet_model *m, uint16_t id, const struct model_desc *d)
{
    const uint8_t *hdr = gpa(d->addr);

    if (d->flags & D_WRITE) {
        violation(m, "TX descriptor %u is device-writable", id);
        return false;
    }
    if (d->len < NET_HDR_BYTES + ETH_MIN_BYTES || d->len - NET_HDR_BYTES > VNET_MODEL_FRAME_MAX) {
        violation(m, "TX descriptor %u: %u bytes do not hold a 12-byte header and a frame",
                  id, d->len);
        return false;
    }
    /* 5.1.6.2: no offload negotiated, so flags 0, GSO_NONE, num_buffers 0. */
    if (hdr[0] != 0 || hdr[1] != 0 || hdr[10] != 0 || hdr[11] != 0)
        violation(m, "TX descriptor %u: header asks for offloads not negotiated "
                  "(flags %u gso %u num_buffers %u)", id, hdr[0], hdr[1], hdr[10] | hdr[11] << 8);
    return true;
}

/* Sends what is available, up to VNET_MODEL_TX_BURST. -1: the backend is
 * busy (a buffer is held) or the ring was bad. */
static int flush_tx(struct vnet_model *m)
{
    struct vnet_model_queue *q = &m->q[TXQ];
    struct model_desc d;
    uint16_t id;
    int n = 0;

    if (!(m->status & S_DRIVER_OK) || m->broken)
        return 0;
    if (m->tx_held) {
        set_notification(m, q, false);
        return -1;
    }
    while (n < VNET_MODEL_TX_BURST && pop(m, TXQ, &id, &d)) {
        if (!tx_check(m, id, &d)) {
            mark_broken(m);
            return -1;
        }
        if (m->tx_blocked) {         /* qemu_sendv_packet_async returned 0 */
            m->tx_held = true;
            m->tx_held_id = id;
            m->tx_held_addr = d.addr;
            m->tx_held_len = d.len;
            set_notification(m, q, false);
            return -1;
        }
        tx_record(m, &d);
        push(m, TXQ, id, 0);
        n++;
    }
    return n;
}

static void tx_bh(struct vnet_model *m)
{
    int r;

    m->tx_waiting = false;
    if (!(m->status & S_DRIVER_OK))
        return;
    r = flush_tx(m);
    if (r < 0)
        return;
    if (r >= VNET_MODEL_TX_BURST) {  /* assume more is coming: run again */
        m->tx_waiting = true;
        return;
    }
    set_notification(m, &m->q[TXQ], true);
    r = flush_tx(m);
    if (r > 0) {
        set_notification(m, &m->q[TXQ], false);
        m->tx_waiting = true;
    }
}

static void tx_bh_run_now(struct vnet_model *m)
{
    for (int i = 0; i < 1024 && m->tx_waiting; i++)
        tx_bh(m);
}

/* virtqueue_drop_all: with the link down, TX buffers return unsent. */
static void tx_drop_all(struct vnet_model *m)
{
    struct model_desc d;
    uint16_t id;

    while (pop(m, TXQ, &id, &d)) {
        push(m, TXQ, id, 0);
        m->nb_tx_dropped++;
    }
}

/* virtio_net_handle_tx_bh */
static void tx_doorbell(struct vnet_model *m)
{
    if (!(m->net_status & NET_S_LINK_UP)) {
        tx_drop_all(m);
        return;
    }
    if (m->tx_waiting)
        return;
    m->tx_waiting = true;
    set_notification(m, &m->q[TXQ], false);
    if (!m->cfg.tx_defer)
        tx_bh_run_now(m);
}

static void handle_doorbell(struct vnet_model *m, unsigned qi)
{
    /* RX: QEMU flushes frames its backend queued while the ring was empty;
     * the model's injector returns false instead and the test retries. */
    if (qi == TXQ)
        tx_doorbell(m);
}

/* ---- reset and queue setup ---- */

static void model_reset(struct vnet_model *m)
{
    m->nb_resets++;
    m->status = 0;
    m->driver_features = 0;
    m->dfselect = m->gfselect = 0;
    m->queue_select = 0;
    m->msix_config = 0;              /* stricter than QEMU (NO_VECTOR): see the header */
    m->broken = false;
    m->isr = 0;
    m->tx_waiting = m->tx_held = false;
    for (unsigned qi = 0; qi < VNET_MODEL_NB_QUEUES; qi++) {
        struct vnet_model_queue *q = &m->q[qi];

        free(q->in_flight);
        memset(q, 0, sizeof(*q));
        q->max = q->size = m->cfg.queue_max[qi];
        q->notification = true;
    }
}

static bool ring_ok(struct vnet_model *m, unsigned qi, const char *what, uint64_t addr,
                    uint64_t bytes, uint64_t align)
{
    if (addr == 0 || addr % align != 0) {
        violation(m, "queue %u: %s address 0x%llx is not %llu-aligned", qi, what,
                  (unsigned long long)addr, (unsigned long long)align);
        return false;
    }
    if (!host_dma_contains(addr, bytes)) {
        violation(m, "queue %u: %s [0x%llx, +%llu) is outside DMA memory", qi, what,
                  (unsigned long long)addr, (unsigned long long)bytes);
        return false;
    }
    return true;
}

static void queue_enable(struct vnet_model *m, unsigned qi, uint16_t val)
{
    struct vnet_model_queue *q = &m->q[qi];

    if (val != 1) {
        violation(m, "queue %u: queue_enable written with %u (only 1 is allowed)", qi, val);
        return;
    }
    if ((q->addr_written & 0x15) != 0x15) {
        violation(m, "queue %u: enabled before its ring addresses were set", qi);
        return;
    }
    if (!ring_ok(m, qi, "descriptor table", q->desc_addr, 16u * q->size, 16) ||
        !ring_ok(m, qi, "driver area", q->driver_addr, 6u + 2u * q->size, 2) ||
        !ring_ok(m, qi, "device area", q->device_addr, 6u + 8u * q->size, 4))
        return;
    if (avail_idx(q) != 0 || rd16(q->device_addr + 2) != 0)
        violation(m, "queue %u: avail idx %u / used idx %u at enable; both start at 0", qi,
                  avail_idx(q), rd16(q->device_addr + 2));
    q->in_flight = calloc(q->size, 1);
    q->enabled = true;
}

/* ---- common configuration (4.1.4.3) ---- */

static unsigned cc_width(uint64_t off)
{
    if (off < CC_MSIX_CONFIG)
        return off % 4 == 0 ? 4 : 0;
    if (off == CC_STATUS || off == CC_GENERATION)
        return 1;
    if (off < CC_Q_DESC_LO)
        return off % 2 == 0 ? 2 : 0;
    if (off <= CC_Q_DEVICE_HI)
        return off % 4 == 0 ? 4 : 0;  /* 64-bit fields: 32-bit halves (4.1.3.1) */
    return 0;
}

static bool cc_access_ok(struct vnet_model *m, uint64_t off, unsigned width, bool write)
{
    unsigned want = cc_width(off);

    if (want == 0 || want != width) {
        violation(m, "common cfg %s at +0x%llx with %u bytes (field takes %u)",
                  write ? "write" : "read", (unsigned long long)off, width, want);
        return false;
    }
    return true;
}

static struct vnet_model_queue *selected(struct vnet_model *m)
{
    return m->queue_select < VNET_MODEL_NB_QUEUES ? &m->q[m->queue_select] : NULL;
}

static uint64_t cc_read_queue(struct vnet_model *m, uint64_t off)
{
    struct vnet_model_queue *q = selected(m);

    if (q == NULL)
        return off == CC_Q_MSIX ? NO_VECTOR : 0;
    switch (off) {
    case CC_Q_SIZE:       return q->size;
    case CC_Q_MSIX:       return q->msix_vector;
    case CC_Q_ENABLE:     return q->enabled;
    case CC_Q_NOTIFY_OFF: return m->queue_select;      /* QEMU: queues in order */
    case 0x20: return (uint32_t)q->desc_addr;
    case 0x24: return (uint32_t)(q->desc_addr >> 32);
    case 0x28: return (uint32_t)q->driver_addr;
    case 0x2c: return (uint32_t)(q->driver_addr >> 32);
    case 0x30: return (uint32_t)q->device_addr;
    case 0x34: return (uint32_t)(q->device_addr >> 32);
    default:   return 0;
    }
}

static uint64_t cc_read(struct vnet_model *m, uint64_t off, unsigned width)
{
    if (!cc_access_ok(m, off, width, false))
        return 0;
    switch (off) {
    case CC_DFSELECT:    return m->dfselect;
    case CC_DF:
        trace(m, "df");
        return m->dfselect < 2 ? (uint32_t)(m->cfg.features >> (32 * m->dfselect)) : 0;
    case CC_GFSELECT:    return m->gfselect;
    case CC_GF:
        return m->gfselect < 2 ? (uint32_t)(m->driver_features >> (32 * m->gfselect)) : 0;
    case CC_MSIX_CONFIG: return m->msix_config;
    case CC_NUM_QUEUES:  return VNET_MODEL_NB_QUEUES;
    case CC_STATUS:      return m->status;
    case CC_GENERATION:  return m->config_generation;
    case CC_Q_SELECT:    return m->queue_select;
    default:             return cc_read_queue(m, off);
    }
}

static void write_features(struct vnet_model *m, uint32_t val)
{
    uint64_t bits, offered, half_mask;

    trace(m, "gf=%08x", val);
    if (!(m->status & S_DRIVER))
        violation(m, "driver_feature written before DRIVER status");
    if (m->status & S_FEATURES_OK) {
        violation(m, "driver_feature written after FEATURES_OK");
        return;
    }
    if (m->gfselect > 1) {
        if (val != 0)
            violation(m, "feature bits beyond 63 accepted (select %u)", m->gfselect);
        return;
    }
    half_mask = 0xffffffffull << (32 * m->gfselect);
    bits = (uint64_t)val << (32 * m->gfselect);
    offered = m->cfg.features & half_mask;
    if (bits & ~offered)
        violation(m, "driver accepted feature bits 0x%llx the device does not offer",
                  (unsigned long long)(bits & ~offered));
    m->driver_features = (m->driver_features & ~half_mask) | (bits & offered);
}

static void check_driver_ok(struct vnet_model *m, uint8_t val)
{
    uint16_t cmd = (uint16_t)pci_model_peek32(m->fn, PCI_CFG_COMMAND);

    if (!(val & S_FEATURES_OK))
        violation(m, "DRIVER_OK without FEATURES_OK");
    for (unsigned qi = RXQ; qi <= TXQ; qi++) {
        if (!m->q[qi].enabled)
            violation(m, "DRIVER_OK before queue %u is set up", qi);
        if (m->q[qi].msix_vector != NO_VECTOR && !msix_enabled(m))
            violation(m, "DRIVER_OK with queue %u MSI-X vector %u while MSI-X is off", qi,
                      m->q[qi].msix_vector);
    }
    if (m->msix_config != NO_VECTOR)
        violation(m, "DRIVER_OK with msix_config %u, not NO_VECTOR", m->msix_config);
    if (!(cmd & PCI_COMMAND_BUS_MASTER))
        violation(m, "DRIVER_OK without PCI bus mastering: the device cannot reach memory");
    if (!(cmd & PCI_COMMAND_INTX_DISABLE))
        violation(m, "DRIVER_OK with INTx enabled: a polling driver disables it");
}

static void write_status(struct vnet_model *m, uint8_t val)
{
    uint8_t old = m->status, added;

    if (val == 0) {
        trace(m, "reset");
        model_reset(m);
        return;
    }
    trace(m, "status=%02x", val);
    if (old & ~val & ~S_NEEDS_RESET)
        violation(m, "device_status bits %02x cleared without a reset", old & ~val);
    if ((val & S_DRIVER) && !(val & S_ACKNOWLEDGE))
        violation(m, "DRIVER set without ACKNOWLEDGE");
    added = (uint8_t)(val & ~old);
    if (added & S_FEATURES_OK) {
        if (!(val & S_DRIVER))
            violation(m, "FEATURES_OK without DRIVER");
        if (!(m->driver_features & VNM_BIT(VNM_F_VERSION_1))) {
            violation(m, "FEATURES_OK without VIRTIO_F_VERSION_1");
            val &= (uint8_t)~S_FEATURES_OK;
        } else if (m->cfg.refuse_features_ok) {
            val &= (uint8_t)~S_FEATURES_OK;
        }
    }
    if (added & S_DRIVER_OK)
        check_driver_ok(m, val);
    m->status = (uint8_t)(val | (old & S_NEEDS_RESET));
}

static void write_queue_addr(struct vnet_model *m, struct vnet_model_queue *q, uint64_t off,
                             uint32_t val)
{
    unsigned half = (unsigned)((off - CC_Q_DESC_LO) / 4);     /* 0..5 */
    uint64_t *addr = half < 2 ? &q->desc_addr : half < 4 ? &q->driver_addr : &q->device_addr;
    unsigned shift = (half % 2) * 32;

    if (q->enabled)
        violation(m, "queue %u: ring address changed while enabled", m->queue_select);
    *addr = (*addr & ~(0xffffffffull << shift)) | ((uint64_t)val << shift);
    q->addr_written |= (uint8_t)(1u << half);
    if (half % 2 == 0)
        trace(m, half < 2 ? "q_desc" : half < 4 ? "q_driver" : "q_device");
}

static void write_queue_size(struct vnet_model *m, struct vnet_model_queue *q, uint16_t val)
{
    trace(m, "q_size=%u", val);
    if (q->enabled) {
        violation(m, "queue %u: size changed while enabled", m->queue_select);
        return;
    }
    if (val == 0 || (val & (val - 1)) != 0 || val > q->max) {
        violation(m, "queue %u: size %u is not a power of two of at most %u", m->queue_select,
                  val, q->max);
        return;
    }
    q->size = val;
}

static void cc_write_queue(struct vnet_model *m, uint64_t off, uint32_t val)
{
    struct vnet_model_queue *q = selected(m);

    if (q == NULL)
        return;                      /* QEMU: a queue that does not exist ignores writes */
    if (off == CC_Q_SIZE) {
        write_queue_size(m, q, (uint16_t)val);
    } else if (off == CC_Q_MSIX) {
        trace(m, "q_msix=%04x", val);
        /* msix_vector_use fails past the table: it reads back NO_VECTOR. */
        q->msix_vector = val < m->cfg.msix_vectors ? (uint16_t)val : NO_VECTOR;
    } else if (off == CC_Q_ENABLE) {
        trace(m, "q_enable=%u", m->queue_select);
        queue_enable(m, m->queue_select, (uint16_t)val);
    } else if (off >= CC_Q_DESC_LO) {
        write_queue_addr(m, q, off, val);
    } else {
        violation(m, "write to read-only common cfg +0x%llx", (unsigned long long)off);
    }
}

static void cc_write(struct vnet_model *m, uint64_t off, unsigned width, uint64_t val)
{
    if (!cc_access_ok(m, off, width, true))
        return;
    switch (off) {
    case CC_DFSELECT:
        trace(m, "df_sel=%u", (unsigned)val);
        m->dfselect = (uint32_t)val;
        break;
    case CC_GFSELECT:
        trace(m, "gf_sel=%u", (unsigned)val);
        m->gfselect = (uint32_t)val;
        break;
    case CC_GF:
        write_features(m, (uint32_t)val);
        break;
    case CC_MSIX_CONFIG:
        trace(m, "msix_config=%04x", (unsigned)val);
        m->msix_config = (uint16_t)val;
        break;
    case CC_STATUS:
        write_status(m, (uint8_t)val);
        break;
    case CC_Q_SELECT:
        trace(m, "q_sel=%u", (unsigned)val);
        m->queue_select = (uint16_t)val;
        break;
    case CC_DF: case CC_NUM_QUEUES: case CC_GENERATION: case CC_Q_NOTIFY_OFF:
        violation(m, "write to read-only common cfg +0x%llx", (unsigned long long)off);
        break;
    default:
        cc_write_queue(m, off, (uint32_t)val);
        break;
    }
}

/* ---- device configuration (5.1.4), ISR, notify ---- */

static uint32_t netcfg_bytes(const struct vnet_model *m)
{
    return (m->cfg.features & VNM_BIT(VNM_F_STATUS)) ? 8u : 6u;    /* QEMU: by feature */
}

static uint64_t device_read(struct vnet_model *m, uint64_t off, unsigned width)
{
    uint64_t ones = width == 8 ? ~0ull : (1ull << (8 * width)) - 1;

    if (off + width > netcfg_bytes(m))
        return ones;                 /* QEMU: past config_len reads all ones */
    if (off < 6) {
        if (width != 1)
            violation(m, "MAC read with %u-byte access (u8 fields take 8-bit reads)", width);
        return m->cfg.mac[off];
    }
    if (off != 6 || width != 2) {
        violation(m, "device cfg read at +%llu with %u bytes", (unsigned long long)off, width);
        return 0;
    }
    return m->net_status;
}

static void doorbell(struct vnet_model *m, uint64_t off, unsigned width, uint64_t val)
{
    uint32_t mult = m->cfg.notify_off_multiplier;
    unsigned qi = (unsigned)(mult ? off / mult : val);
    struct vnet_model_queue *q;

    if (width != 2 || (mult && off % mult != 0) || val != qi || qi >= VNET_MODEL_NB_QUEUES) {
        violation(m, "doorbell at +%llu (%u bytes) with value %llu does not name its queue",
                  (unsigned long long)off, width, (unsigned long long)val);
        return;
    }
    q = &m->q[qi];
    trace(m, "notify=%u", qi);
    q->nb_notify++;
    if (!(m->status & S_DRIVER_OK))
        violation(m, "queue %u: doorbell before DRIVER_OK", qi);
    if (!q->enabled || m->broken)
        return;
    if (++q->notifies_since_mark > 1)
        violation(m, "queue %u: %u doorbells in one burst call", qi, q->notifies_since_mark);
    if (!observe(m, qi, true)) {
        q->nb_needless_notify++;
        violation(m, "queue %u: doorbell the device had said it did not need", qi);
    }
    if (m->cfg.notify_async)
        q->kick_pending = true;
    else
        handle_doorbell(m, qi);
}

static uint64_t bar_read(void *ctx, uint64_t off, unsigned width)
{
    struct vnet_model *m = ctx;
    uint64_t v;

    if (off < BAR_COMMON + CC_BYTES)
        return cc_read(m, off - BAR_COMMON, width);
    if (off >= BAR_ISR && off < BAR_ISR + BLOCK_BYTES) {
        v = m->isr;                  /* reading ISR acknowledges it */
        m->isr = 0;
        return v;
    }
    if (off >= BAR_DEVICE && off < BAR_DEVICE + BLOCK_BYTES)
        return device_read(m, off - BAR_DEVICE, width);
    if (off >= BAR_NOTIFY && off < BAR_NOTIFY + m->notify_bytes)
        return 0;
    violation(m, "read of BAR 4 +0x%llx, which no capability describes", (unsigned long long)off);
    return 0;
}

static void bar_write(void *ctx, uint64_t off, unsigned width, uint64_t val)
{
    struct vnet_model *m = ctx;

    if (off < BAR_COMMON + CC_BYTES)
        cc_write(m, off - BAR_COMMON, width, val);
    else if (off >= BAR_NOTIFY && off < BAR_NOTIFY + m->notify_bytes)
        doorbell(m, off - BAR_NOTIFY, width, val);
    else if (off >= BAR_DEVICE && off < BAR_DEVICE + BLOCK_BYTES)
        violation(m, "write to virtio-net device cfg +0x%llx (read-only with VERSION_1)",
                  (unsigned long long)(off - BAR_DEVICE));
    else
        violation(m, "write to BAR 4 +0x%llx", (unsigned long long)off);
}

static const struct mmio_region_ops bar_ops = {
    .read = bar_read,
    .write = bar_write,
};

/* ---- PCI function ---- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* struct virtio_pci_cap (4.1.4), plus notify_off_multiplier for NOTIFY. */
static void vendor_cap(struct pci_model_fn *f, uint8_t at, uint8_t type, uint8_t bar,
                       uint32_t offset, uint32_t length, uint32_t mult)
{
    uint8_t len = type == 2 || type == 5 ? 20 : 16;

    pci_model_cap(f, at, PCI_CAP_ID_VENDOR, len);
    f->cfg[at + 2] = len;
    f->cfg[at + 3] = type;
    f->cfg[at + 4] = bar;
    for (int i = 5; i < 8; i++)
        f->cfg[at + i] = 0;
    put32(&f->cfg[at + 8], offset);
    put32(&f->cfg[at + 12], length);
    if (len == 20)
        put32(&f->cfg[at + 16], mult);
}

static void build_function(struct vnet_model *m)
{
    struct pci_model_fn *f;
    bool transitional = m->cfg.device_id == 0x1000;

    pci_model_init(&m->pci);
    f = m->fn = pci_model_add(&m->pci, 0, 3, 0, 0x1af4, m->cfg.device_id, 0x02, 0x00, 0x00);
    f->cfg[PCI_CFG_REVISION_ID] = transitional ? 0 : 1;    /* 4.1.2.1 */
    put32(&f->cfg[0x2c], 0x1af4u | (1u << 16));           /* subsystem: network */
    if (transitional)
        pci_model_bar(f, 0, 0xc000, 32, PCI_MODEL_BAR_IO);
    /* QEMU's MSI-X BAR is 32-bit; here it is 64-bit (slots 1-2) because its
     * memory is the test process's, above 4 GiB. */
    if (m->cfg.msix_vectors > 0)
        pci_model_bar(f, 1, (uint64_t)(uintptr_t)m->msix_bar, MSIX_BAR_BYTES, PCI_MODEL_BAR_64);
    pci_model_bar(f, 4, (uint64_t)(uintptr_t)m->bar, m->bar_bytes,
                  PCI_MODEL_BAR_64 | PCI_MODEL_BAR_PREFETCH);
    if (m->cfg.msix_vectors > 0) {
        pci_model_cap(f, MSIX_CAP, PCI_CAP_ID_MSIX, 12);
        pci_model_poke32(f, MSIX_CAP, (pci_model_peek32(f, MSIX_CAP) & 0xffffu) |
                                      (uint32_t)(m->cfg.msix_vectors - 1) << 16);
        f->wmask[MSIX_CAP + 3] = 0xc0;                     /* enable, function mask */
        put32(&f->cfg[MSIX_CAP + 4], 1);                   /* table at BAR 1 + 0 */
        put32(&f->cfg[MSIX_CAP + 8], MSIX_PBA | 1);        /* PBA at BAR 1 + 0x800 */
    }
    vendor_cap(f, 0x88, 1, 4, BAR_COMMON, BLOCK_BYTES, 0);
    vendor_cap(f, 0x78, 3, 4, BAR_ISR, BLOCK_BYTES, 0);
    vendor_cap(f, 0x68, 4, 4, BAR_DEVICE, BLOCK_BYTES, 0);
    vendor_cap(f, 0x54, 2, 4, BAR_NOTIFY, m->notify_bytes, m->cfg.notify_off_multiplier);
    vendor_cap(f, 0x40, 5, 0, 0, 0, 0);                    /* PCI cfg access window */
    /* The kernel's walk leaves memory decode on; STATUS (the upper half)
     * keeps its capability-list bit. */
    pci_model_poke32(f, PCI_CFG_COMMAND,
                     (pci_model_peek32(f, PCI_CFG_COMMAND) & 0xffff0000u) | PCI_COMMAND_MEMORY);
}

void vnet_model_default_config(struct vnet_model_config *cfg)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

    memset(cfg, 0, sizeof(*cfg));
    cfg->device_id = 0x1041;
    cfg->features = VNET_MODEL_QEMU_FEATURES;
    cfg->queue_max[RXQ] = 256;
    cfg->queue_max[TXQ] = 256;
    cfg->queue_max[2] = 64;          /* QEMU's control queue */
    memcpy(cfg->mac, mac, sizeof(mac));
    cfg->link_up = true;
    cfg->notify_off_multiplier = 4;
    cfg->msix_vectors = 4;           /* 2 x queue pairs + config + control queue */
}

int vnet_model_init(struct vnet_model *m, const struct vnet_model_config *cfg)
{
    uint64_t need;

    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    m->notify_bytes = cfg->notify_off_multiplier * VNET_MODEL_NB_QUEUES;
    if (m->notify_bytes < BLOCK_BYTES)
        m->notify_bytes = BLOCK_BYTES;
    need = BAR_NOTIFY + m->notify_bytes;
    for (m->bar_bytes = 0x4000; m->bar_bytes < need;)
        m->bar_bytes *= 2;
    if (cfg->msix_vectors > VNET_MODEL_MSIX_MAX)
        return -1;
    m->bar = aligned_alloc(m->bar_bytes, m->bar_bytes);
    m->msix_bar = aligned_alloc(MSIX_BAR_BYTES, MSIX_BAR_BYTES);
    m->tx_frames = calloc(VNET_MODEL_TX_KEEP, sizeof(*m->tx_frames));
    if (m->bar == NULL || m->msix_bar == NULL || m->tx_frames == NULL)
        return -1;
    memset(m->bar, 0, m->bar_bytes);
    for (unsigned i = 0; i < VNET_MODEL_MSIX_MAX; i++)
        m->msix_table[i][3] = MSIX_ENTRY_MASKED;       /* msix_mask_all at reset */
    build_function(m);
    pci_model_ops(&m->pci, &m->ops);
    if (pci_enumerate(&m->ops, &m->dev, 1) != 1)
        return -1;
    if (host_mmio_register(m->bar, m->bar_bytes, &bar_ops, m) != 0)
        return -1;
    if (cfg->msix_vectors > 0 &&
        host_mmio_register(m->msix_bar, MSIX_BAR_BYTES, &msix_ops, m) != 0)
        return -1;
    model_reset(m);
    m->nb_resets = 0;
    m->status = cfg->initial_status;
    m->net_status = cfg->link_up ? NET_S_LINK_UP : 0;
    return 0;
}

void vnet_model_fini(struct vnet_model *m)
{
    if (m->bar)
        host_mmio_unregister(m->bar);
    if (m->msix_bar && m->cfg.msix_vectors > 0)
        host_mmio_unregister(m->msix_bar);
    for (unsigned qi = 0; qi < VNET_MODEL_NB_QUEUES; qi++) {
        free(m->q[qi].in_flight);
        m->q[qi].in_flight = NULL;
    }
    free(m->bar);
    free(m->msix_bar);
    free(m->tx_frames);
    m->bar = NULL;
    m->msix_bar = NULL;
    m->tx_frames = NULL;
}

/* ---- the test's side ---- */

/* virtio_net_has_buffers: an empty ring turns notifications on (and looks
 * once more, for buffers added meanwhile); a frame taken turns them off. */
static bool rx_has_buffers(struct vnet_model *m)
{
    struct vnet_model_queue *q = &m->q[RXQ];

    if (avail_idx(q) == q->last_avail) {
        set_notification(m, q, true);
        if (avail_idx(q) == q->last_avail)
            return false;
    }
    set_notification(m, q, false);
    return true;
}

/* Writes the frame into one buffer: 10 header bytes (QEMU leaves
 * num_buffers alone without MRG_RXBUF), then the frame after 12. */
static bool rx_fill(struct vnet_model *m, uint16_t id, const struct model_desc *d,
                    const void *frame, uint16_t len)
{
    struct vnet_model_queue *q = &m->q[RXQ];

    if (!(d->flags & D_WRITE)) {
        violation(m, "RX descriptor %u is not device-writable", id);
        mark_broken(m);
        return false;
    }
    if (d->len < RX_BUF_MIN)
        violation(m, "RX descriptor %u: %u bytes, the spec asks for at least %u", id, d->len,
                  RX_BUF_MIN);
    if (d->len < NET_HDR_BYTES + len) {
        unpop(q, id);                /* QEMU drops the frame and keeps the buffer */
        return false;
    }
    memset(gpa(d->addr), 0, 10);
    memcpy((uint8_t *)gpa(d->addr) + NET_HDR_BYTES, frame, len);
    push(m, RXQ, id, NET_HDR_BYTES + len);
    return true;
}

bool vnet_model_inject_rx(struct vnet_model *m, const void *frame, uint16_t len)
{
    struct model_desc d;
    uint16_t id;

    if (len == 0 || len > VNET_MODEL_FRAME_MAX)
        abort();                     /* a test bug, not a driver one */
    sync_all(m);
    if (!(m->status & S_DRIVER_OK) || !m->q[RXQ].enabled || m->broken)
        return false;                /* virtio_net_can_receive */
    if (!(m->net_status & NET_S_LINK_UP)) {
        m->nb_rx_link_down++;        /* QEMU discards while the link is down */
        return false;
    }
    if (!rx_has_buffers(m)) {
        m->nb_rx_no_buffer++;
        return false;
    }
    if (!pop(m, RXQ, &id, &d) || !rx_fill(m, id, &d, frame, len))
        return false;
    m->nb_rx_frames++;
    return true;
}

void vnet_model_poll(struct vnet_model *m)
{
    sync_all(m);
    for (unsigned qi = 0; qi < VNET_MODEL_NB_QUEUES; qi++) {
        if (m->q[qi].kick_pending) {
            m->q[qi].kick_pending = false;
            handle_doorbell(m, qi);
        }
    }
    if (m->tx_waiting)
        tx_bh(m);
}

void vnet_model_tx_block(struct vnet_model *m, bool blocked)
{
    struct model_desc d;
    int r;

    sync_all(m);
    m->tx_blocked = blocked;
    if (blocked || !m->tx_held)
        return;
    /* virtio_net_tx_complete: the held frame is out, look for more. */
    d.addr = m->tx_held_addr;
    d.len = m->tx_held_len;
    d.flags = 0;
    tx_record(m, &d);
    m->tx_held = false;
    push(m, TXQ, m->tx_held_id, 0);
    set_notification(m, &m->q[TXQ], true);
    r = flush_tx(m);
    if (r >= VNET_MODEL_TX_BURST) {
        set_notification(m, &m->q[TXQ], false);
        m->tx_waiting = true;
        if (!m->cfg.tx_defer)
            tx_bh_run_now(m);
    }
}

void vnet_model_set_link(struct vnet_model *m, bool up)
{
    uint16_t old = m->net_status;

    sync_all(m);
    m->net_status = up ? NET_S_LINK_UP : 0;
    if (m->net_status == old)
        return;
    m->config_generation++;
    m->nb_config_changes++;
    m->isr |= 2;                     /* configuration change */
    /* virtio_net_set_status with the link gone: queued TX is dropped. */
    if (!up && (m->status & S_DRIVER_OK) && m->tx_waiting) {
        m->tx_waiting = false;
        set_notification(m, &m->q[TXQ], true);
        tx_drop_all(m);
    }
}

void vnet_model_break(struct vnet_model *m, const char *why)
{
    trace(m, "broken:%s", why);
    m->broken = true;
    m->status |= S_NEEDS_RESET;
}

void vnet_model_mark_burst(struct vnet_model *m)
{
    sync_all(m);
    for (unsigned qi = 0; qi < VNET_MODEL_NB_QUEUES; qi++)
        m->q[qi].notifies_since_mark = 0;
}

const struct vnet_model_frame *vnet_model_tx_frame(const struct vnet_model *m, uint64_t i)
{
    if (i >= m->nb_tx_frames || m->nb_tx_frames - i > VNET_MODEL_TX_KEEP)
        return NULL;
    return &m->tx_frames[i % VNET_MODEL_TX_KEEP];
}

unsigned vnet_model_nb_violations(const struct vnet_model *m)
{
    return m->nb_violations;
}

const char *vnet_model_violation(const struct vnet_model *m, unsigned i)
{
    return i < m->nb_violations && i < VNET_MODEL_MAX_VIOLATIONS ? m->violations[i] : "";
}

const char *vnet_model_trace(const struct vnet_model *m)
{
    return m->trace;
}
