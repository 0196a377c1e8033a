/*
 * A software virtio-net device behind the modern virtio PCI transport, for
 * running drivers/virtio_net.c on the host (tests/unit/test_virtio_net.c).
 *
 * The function sits in a pci_model (00:03.0) with QEMU's layout: an MSI-X
 * capability whose table (and pending bits) sit in BAR 1, then vendor
 * capabilities for common, ISR, device and notify blocks in a 64-bit BAR 4;
 * both BARs' memory is claimed on the host MMIO bus, so every register
 * access reaches this model. A transitional device (1af4:1000) also has a
 * legacy I/O BAR 0 that nothing may touch.
 *
 * The device side follows QEMU 7.2 where the driver can tell the
 * difference (hw/virtio/virtio.c, virtio-pci.c, hw/net/virtio-net.c):
 *   - notification state per queue: turning notifications on writes
 *     avail_event = avail->idx (EVENT_IDX) or clears NO_NOTIFY; turning them
 *     off freezes avail_event or sets NO_NOTIFY; popping an entry moves
 *     avail_event past it while notifications are on;
 *   - RX: a frame needs one whole buffer; the ring found empty turns
 *     notifications on, a frame taken turns them off;
 *   - TX: a doorbell turns notifications off and schedules a bottom half;
 *     the bottom half sends up to 256 frames, turns notifications on,
 *     looks again, and reschedules itself if it found more. TX buffers come
 *     back with len 0. With the link down queued TX is dropped unsent;
 *   - interrupts are decided as QEMU does (used_event or NO_INTERRUPT) and
 *     counted; with MSI-X enabled and a queue vector set, the table entry's
 *     message is "sent" (counted, last one kept) unless the entry or the
 *     function is masked, which sets the pending bit instead; unmasking the
 *     entry sends what is pending (hw/pci/msix.c). A message must go to the
 *     local APIC (0xFEExxxxx) with a vector of 16..255.
 * When doorbells and the bottom half run is the test's choice (config):
 * inside the doorbell write (QEMU under TCG, where there is no ioeventfd),
 * or at vnet_model_poll() (ioeventfd/vhost style, or a slow main loop).
 *
 * It is STRICT: whatever a driver does that the spec forbids or that would
 * break on real hardware is recorded as a violation (see
 * vnet_model_violation()); errors QEMU would answer with virtio_error also
 * mark the device broken (NEEDS_RESET set, queues ignored). Stricter than
 * QEMU in one place on purpose: MSI-X vectors reset to 0, not NO_VECTOR, so a
 * driver must write NO_VECTOR itself; and a queue with a vector at
 * DRIVER_OK while MSI-X is off is flagged (the interrupt could never come).
 */
#ifndef PKTMETAL_TESTS_MODELS_VIRTIO_NET_MODEL_H
#define PKTMETAL_TESTS_MODELS_VIRTIO_NET_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/pci.h"
#include "tests/models/pci_model.h"

/* Feature bits the model knows by name (5.1.3, 6). */
#define VNM_F_CSUM                0
#define VNM_F_MAC                 5
#define VNM_F_MRG_RXBUF           15
#define VNM_F_STATUS              16
#define VNM_F_CTRL_VQ             17
#define VNM_F_CTRL_RX             18
#define VNM_F_INDIRECT_DESC       28
#define VNM_F_EVENT_IDX           29
#define VNM_F_VERSION_1           32
#define VNM_BIT(n)                (1ull << (n))

/* What QEMU 7.2's virtio-net-pci offers with a dgram/socket backend (no
 * vnet header, so no offloads): a driver must take only what it can do. */
#define VNET_MODEL_QEMU_FEATURES                                              \
    (VNM_BIT(VNM_F_MAC) | VNM_BIT(VNM_F_MRG_RXBUF) | VNM_BIT(VNM_F_STATUS) |  \
     VNM_BIT(VNM_F_CTRL_VQ) | VNM_BIT(VNM_F_CTRL_RX) | VNM_BIT(19) |          \
     VNM_BIT(20) | VNM_BIT(21) | VNM_BIT(23) | VNM_BIT(VNM_F_INDIRECT_DESC) | \
     VNM_BIT(VNM_F_EVENT_IDX) | VNM_BIT(VNM_F_VERSION_1))

#define VNET_MODEL_NB_QUEUES      3      /* receiveq1, transmitq1, controlq */
#define VNET_MODEL_FRAME_MAX      2048
#define VNET_MODEL_TX_KEEP        1024   /* sent frames kept for inspection */
#define VNET_MODEL_TX_BURST       256    /* QEMU's tx_burst default */
#define VNET_MODEL_MAX_VIOLATIONS 32
#define VNET_MODEL_TRACE_BYTES    8192
#define VNET_MODEL_MSIX_MAX       8      /* table entries the model can have */

struct vnet_model_config {
    uint16_t device_id;                  /* 0x1000 transitional or 0x1041 */
    uint64_t features;                   /* offered */
    uint16_t queue_max[VNET_MODEL_NB_QUEUES];
    uint8_t mac[6];
    bool link_up;
    bool refuse_features_ok;             /* FEATURES_OK never sticks */
    uint32_t notify_off_multiplier;      /* QEMU: 4 (0x1000 with page-per-vq) */
    bool notify_async;                   /* doorbells handled at poll, not in the write */
    bool tx_defer;                       /* TX bottom half runs at poll, not in the doorbell */
    uint8_t initial_status;              /* what firmware left in device_status */
    uint16_t msix_vectors;               /* MSI-X table entries (QEMU's virtio-net: 4);
                                            0: no MSI-X capability */
};

/* QEMU-like defaults: 1af4:1041, VNET_MODEL_QEMU_FEATURES, 256-entry RX and
 * TX queues, link up, multiplier 4, doorbells and TX handled at once. */
void vnet_model_default_config(struct vnet_model_config *cfg);

struct vnet_model_queue {
    uint16_t max, size;
    bool enabled;
    uint64_t desc_addr, driver_addr, device_addr;
    uint8_t addr_written;                /* bit per half written: desc lo/hi, driver, device */
    uint16_t msix_vector;
    uint16_t last_avail;                 /* next avail entry the device takes */
    uint16_t used_idx;                   /* device's used->idx */
    uint16_t avail_seen;                 /* avail->idx when the model last looked */
    bool notification;                   /* QEMU's vq->notification */
    uint16_t signalled_used;
    bool signalled_used_valid;
    uint8_t *in_flight;                  /* per descriptor: owned by the device */
    bool kick_pending;                   /* notify_async: handled at poll */
    unsigned notifies_since_mark;
    bool avail_flags_reported;
    /* counters */
    uint64_t nb_notify;                  /* doorbell writes */
    uint64_t nb_needless_notify;         /* doorbells the device had said it did not need */
    uint64_t nb_missed_notify;           /* publishes the device wanted to hear of, unheard */
    uint64_t nb_interrupts;              /* used-buffer notifications the device would send */
    uint64_t nb_msi;                     /* ... that went out as MSI-X messages */
};

struct vnet_model_frame {
    uint16_t len;
    uint8_t data[VNET_MODEL_FRAME_MAX];
};

struct vnet_model {
    struct vnet_model_config cfg;
    struct pci_model pci;
    struct pci_model_fn *fn;
    struct pci_cfg_ops ops;
    struct pci_dev dev;                  /* as the kernel's PCI walk finds it */
    uint8_t *bar;                        /* BAR 4 memory, claimed on the MMIO bus */
    uint64_t bar_bytes;
    uint8_t *msix_bar;                   /* BAR 1 memory (table, then PBA), claimed too */
    uint32_t msix_table[VNET_MODEL_MSIX_MAX][4];   /* addr lo, addr hi, data, control */
    uint32_t msix_pending;               /* PBA: a bit per entry */
    uint64_t nb_msi;                     /* MSI-X messages sent, all queues */
    uint64_t last_msi_addr;
    uint32_t last_msi_data;
    uint32_t notify_bytes;
    /* common configuration */
    uint32_t dfselect, gfselect;
    uint64_t driver_features;
    uint8_t status;
    uint8_t config_generation;
    uint8_t isr;
    uint16_t queue_select;
    uint16_t msix_config;
    uint16_t net_status;                 /* VIRTIO_NET_S_LINK_UP */
    bool broken;                         /* virtio_error: queues ignored until reset */
    struct vnet_model_queue q[VNET_MODEL_NB_QUEUES];
    /* TX side of the backend */
    bool tx_waiting;                     /* bottom half scheduled */
    bool tx_blocked;                     /* backend takes nothing (a peer that stopped reading) */
    bool tx_held;                        /* one popped buffer waiting on the backend */
    uint16_t tx_held_id;
    uint32_t tx_held_len;
    uint64_t tx_held_addr;
    struct vnet_model_frame *tx_frames;  /* ring of the last VNET_MODEL_TX_KEEP frames */
    /* counters */
    uint64_t nb_resets;
    uint64_t nb_rx_frames, nb_rx_no_buffer, nb_rx_link_down;
    uint64_t nb_tx_frames, nb_tx_dropped;
    uint64_t nb_config_changes;
    /* checks */
    unsigned nb_violations;
    char violations[VNET_MODEL_MAX_VIOLATIONS][160];
    char trace[VNET_MODEL_TRACE_BYTES];
    size_t trace_len;
};

/* Builds the function, claims BAR 4 on the MMIO bus and walks the model's
 * config space with pci_enumerate() into m->dev. 0 or -1. */
int vnet_model_init(struct vnet_model *m, const struct vnet_model_config *cfg);
/* Releases the BAR memory and buffers (unregisters the BAR too). */
void vnet_model_fini(struct vnet_model *m);

/* The device receives a frame from the wire: into the next RX buffer, with
 * a used entry. false when it cannot (not live, link down, no buffer, or a
 * violation in the buffer). */
bool vnet_model_inject_rx(struct vnet_model *m, const void *frame, uint16_t len);

/* One turn of QEMU's main loop: pending doorbells, then the TX bottom half. */
void vnet_model_poll(struct vnet_model *m);

/* The backend stops (true) or resumes (false) taking TX frames. */
void vnet_model_tx_block(struct vnet_model *m, bool blocked);

/* Link status in the device configuration (and QEMU's reaction to it). */
void vnet_model_set_link(struct vnet_model *m, bool up);

/* As QEMU's virtio_error(): device broken, NEEDS_RESET set. */
void vnet_model_break(struct vnet_model *m, const char *why);

/*
 * Starts a new driver call (one rx_burst or tx_burst): checks that every
 * publish since the last call was notified if the device wanted it, and
 * resets the one-doorbell-per-call count.
 */
void vnet_model_mark_burst(struct vnet_model *m);

/* Sent frame number i (0 = first ever), or NULL when not (or no longer) kept. */
const struct vnet_model_frame *vnet_model_tx_frame(const struct vnet_model *m, uint64_t i);

unsigned vnet_model_nb_violations(const struct vnet_model *m);
const char *vnet_model_violation(const struct vnet_model *m, unsigned i);
/* Register-level history: "reset status=01 status=03 df_sel=0 df ..." */
const char *vnet_model_trace(const struct vnet_model *m);

#endif
