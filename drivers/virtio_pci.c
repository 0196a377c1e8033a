/*
 * Modern virtio PCI transport (VIRTIO 1.1, 4.1): capability discovery,
 * status handshake, feature negotiation and queue programming. See
 * virtio_pci.h for the picture.
 *
 * Register access follows 4.1.3.1: 8-bit fields with 8-bit accesses, 16-bit
 * with 16-bit, and 32- and 64-bit fields with aligned 32-bit accesses (a
 * 64-bit queue address is written as its low then its high half). QEMU
 * (hw/virtio/virtio-pci.c, virtio_pci_common_write) latches the queue size
 * and the three addresses and applies them only when queue_enable is
 * written, which is why queue_enable comes last.
 */
#include "drivers/virtio_pci.h"

#include "kernel/clock.h"
#include "kernel/io.h"
#include "net/errno.h"

/* Vendor capability layout, struct virtio_pci_cap (4.1.4): byte offsets
 * from the capability's start in config space. */
#define VIRTIO_CAP_CFG_TYPE          3
#define VIRTIO_CAP_BAR               4
#define VIRTIO_CAP_OFFSET            8
#define VIRTIO_CAP_LENGTH            12
#define VIRTIO_CAP_NOTIFY_MULT       16    /* struct virtio_pci_notify_cap */
#define VIRTIO_CAP_BYTES             16
#define VIRTIO_NOTIFY_CAP_BYTES      20

/* cfg_type values (4.1.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG    1
#define VIRTIO_PCI_CAP_NOTIFY_CFG    2
#define VIRTIO_PCI_CAP_ISR_CFG       3
#define VIRTIO_PCI_CAP_DEVICE_CFG    4

/* struct virtio_pci_common_cfg (4.1.4.3): byte offsets and access widths. */
#define COMMON_DEVICE_FEATURE_SELECT 0x00  /* 32 */
#define COMMON_DEVICE_FEATURE        0x04  /* 32 */
#define COMMON_DRIVER_FEATURE_SELECT 0x08  /* 32 */
#define COMMON_DRIVER_FEATURE        0x0c  /* 32 */
#define COMMON_MSIX_CONFIG           0x10  /* 16 */
#define COMMON_NUM_QUEUES            0x12  /* 16 */
#define COMMON_DEVICE_STATUS         0x14  /* 8 */
#define COMMON_CONFIG_GENERATION     0x15  /* 8 */
#define COMMON_QUEUE_SELECT          0x16  /* 16 */
#define COMMON_QUEUE_SIZE            0x18  /* 16 */
#define COMMON_QUEUE_MSIX_VECTOR     0x1a  /* 16 */
#define COMMON_QUEUE_ENABLE          0x1c  /* 16 */
#define COMMON_QUEUE_NOTIFY_OFF      0x1e  /* 16 */
#define COMMON_QUEUE_DESC            0x20  /* 64, as two 32 */
#define COMMON_QUEUE_DRIVER          0x28  /* 64, as two 32 */
#define COMMON_QUEUE_DEVICE          0x30  /* 64, as two 32 */
#define COMMON_CFG_BYTES             0x38

#define RESET_POLL_NS                1000u

/* ---- capability discovery (4.1.4) ---- */

struct virtio_cap_info {
    uint8_t bar;
    uint32_t offset;
    uint32_t length;
};

/* Reads one vendor capability; false if it is not a usable virtio one. */
static bool cap_read(const struct virtio_pci *vp, int pos, uint8_t *type,
                     struct virtio_cap_info *info)
{
    uint8_t cap_len = pci_cfg_read8(vp->pci, &vp->dev, (uint16_t)(pos + 2));

    if (cap_len < VIRTIO_CAP_BYTES)
        return false;
    *type = pci_cfg_read8(vp->pci, &vp->dev, (uint16_t)(pos + VIRTIO_CAP_CFG_TYPE));
    info->bar = pci_cfg_read8(vp->pci, &vp->dev, (uint16_t)(pos + VIRTIO_CAP_BAR));
    info->offset = pci_cfg_read32(vp->pci, &vp->dev, (uint16_t)(pos + VIRTIO_CAP_OFFSET));
    info->length = pci_cfg_read32(vp->pci, &vp->dev, (uint16_t)(pos + VIRTIO_CAP_LENGTH));
    return true;
}

/* The block's address, or NULL when the BAR is not a mapped memory BAR or
 * the block does not fit in it. An I/O BAR (QEMU's modern-pio-notify) is
 * not usable through MMIO accessors, so such a capability is skipped. */
static volatile uint8_t *cap_map(const struct virtio_pci *vp, const struct virtio_cap_info *c,
                                 uint32_t min_bytes)
{
    const struct pci_bar *bar;

    if (c->bar >= 6)
        return NULL;
    bar = &vp->dev.bar[c->bar];
    if (bar->is_io || bar->base == 0 || bar->size == 0 || c->length < min_bytes)
        return NULL;
    if ((uint64_t)c->offset + c->length > bar->size)
        return NULL;
    return (volatile uint8_t *)(uintptr_t)(bar->base + c->offset);
}

/* Keeps the first usable capability of each type (4.1.4.1: the driver
 * SHOULD use the first instance it can). */
static void cap_take(struct virtio_pci *vp, int pos, uint8_t type,
                     const struct virtio_cap_info *c)
{
    volatile uint8_t *p;

    switch (type) {
    case VIRTIO_PCI_CAP_COMMON_CFG:
        if (!vp->common)
            vp->common = cap_map(vp, c, COMMON_CFG_BYTES);
        break;
    case VIRTIO_PCI_CAP_ISR_CFG:
        if (!vp->isr)
            vp->isr = cap_map(vp, c, 1);
        break;
    case VIRTIO_PCI_CAP_DEVICE_CFG:
        if (!vp->device_cfg && (p = cap_map(vp, c, 1)) != NULL) {
            vp->device_cfg = p;
            vp->device_cfg_bytes = c->length;
        }
        break;
    case VIRTIO_PCI_CAP_NOTIFY_CFG:
        if (vp->notify || pci_cfg_read8(vp->pci, &vp->dev, (uint16_t)(pos + 2)) <
                          VIRTIO_NOTIFY_CAP_BYTES)
            break;
        if ((p = cap_map(vp, c, 2)) != NULL) {
            vp->notify = p;
            vp->notify_bytes = c->length;
            vp->notify_off_multiplier =
                pci_cfg_read32(vp->pci, &vp->dev, (uint16_t)(pos + VIRTIO_CAP_NOTIFY_MULT));
        }
        break;
    default:                         /* PCI_CFG access window, shared memory: unused */
        break;
    }
}

int virtio_pci_probe(struct virtio_pci *vp, const struct pci_cfg_ops *pci,
                     const struct pci_dev *dev)
{
    int pos = 0;

    vp->pci = pci;
    vp->dev = *dev;
    vp->common = vp->isr = vp->device_cfg = vp->notify = NULL;
    vp->device_cfg_bytes = vp->notify_bytes = vp->notify_off_multiplier = 0;
    vp->has_msix = pci_msix_probe(pci, dev, &vp->msix) == 0;
    vp->msix_on = false;
    while ((pos = pci_find_cap(pci, dev, PCI_CAP_ID_VENDOR, pos)) > 0) {
        struct virtio_cap_info c;
        uint8_t type;

        if (cap_read(vp, pos, &type, &c))
            cap_take(vp, pos, type, &c);
    }
    /* The ISR block is never read (no INTx; MSI-X needs no acknowledging),
     * so it is not required. */
    if (!vp->common || !vp->notify || !vp->device_cfg)
        return -PM_ENODEV;
    return 0;
}

void virtio_pci_enable_function(struct virtio_pci *vp)
{
    uint16_t cmd = pci_cfg_read16(vp->pci, &vp->dev, PCI_CFG_COMMAND);

    /* Bus mastering: without it QEMU's device cannot reach the rings.
     * INTx off: the device still raises its ISR bit when it decides to
     * interrupt, and nothing should see that (TRAPS.md, virtio-net). */
    cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER | PCI_COMMAND_INTX_DISABLE;
    pci_write_command(vp->pci, &vp->dev, cmd);
}

int virtio_pci_msix_setup(struct virtio_pci *vp, uint16_t entry, uint64_t addr, uint32_t data)
{
    int rc;

    if (!vp->has_msix)
        return -PM_ENOENT;
    rc = pci_msix_set_entry(&vp->msix, entry, addr, data, false);
    if (rc < 0)
        return rc;
    pci_msix_enable(vp->pci, &vp->dev, &vp->msix, true);
    vp->msix_on = true;
    return 0;
}

/* ---- status and features (3.1.1) ---- */

uint8_t virtio_pci_get_status(struct virtio_pci *vp)
{
    return mmio_read8(vp->common + COMMON_DEVICE_STATUS);
}

void virtio_pci_add_status(struct virtio_pci *vp, uint8_t bits)
{
    uint8_t status = virtio_pci_get_status(vp);

    mmio_write8(vp->common + COMMON_DEVICE_STATUS, (uint8_t)(status | bits));
}

int virtio_pci_reset(struct virtio_pci *vp, uint32_t timeout_us)
{
    uint64_t deadline_ns = clock_ns() + (uint64_t)timeout_us * 1000u;

    /* 4.1.4.3.2: the device may take time to finish a reset; it is done
     * when device_status reads back 0. */
    mmio_write8(vp->common + COMMON_DEVICE_STATUS, 0);
    while (virtio_pci_get_status(vp) != 0) {
        if (clock_ns() > deadline_ns)
            return -PM_ETIMEDOUT;
        clock_delay_ns(RESET_POLL_NS);
    }
    return 0;
}

uint64_t virtio_pci_device_features(struct virtio_pci *vp)
{
    uint64_t features;

    mmio_write32(vp->common + COMMON_DEVICE_FEATURE_SELECT, 0);
    features = mmio_read32(vp->common + COMMON_DEVICE_FEATURE);
    mmio_write32(vp->common + COMMON_DEVICE_FEATURE_SELECT, 1);
    features |= (uint64_t)mmio_read32(vp->common + COMMON_DEVICE_FEATURE) << 32;
    return features;
}

void virtio_pci_set_driver_features(struct virtio_pci *vp, uint64_t features)
{
    mmio_write32(vp->common + COMMON_DRIVER_FEATURE_SELECT, 0);
    mmio_write32(vp->common + COMMON_DRIVER_FEATURE, (uint32_t)features);
    mmio_write32(vp->common + COMMON_DRIVER_FEATURE_SELECT, 1);
    mmio_write32(vp->common + COMMON_DRIVER_FEATURE, (uint32_t)(features >> 32));
}

bool virtio_pci_features_ok(struct virtio_pci *vp)
{
    virtio_pci_add_status(vp, VIRTIO_STATUS_FEATURES_OK);
    return (virtio_pci_get_status(vp) & VIRTIO_STATUS_FEATURES_OK) != 0;
}

/* ---- queues (4.1.5.1.3) ---- */

uint16_t virtio_pci_num_queues(struct virtio_pci *vp)
{
    return mmio_read16(vp->common + COMMON_NUM_QUEUES);
}

void virtio_pci_disable_config_vector(struct virtio_pci *vp)
{
    mmio_write16(vp->common + COMMON_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
}

uint16_t virtio_pci_queue_max_size(struct virtio_pci *vp, uint16_t index)
{
    mmio_write16(vp->common + COMMON_QUEUE_SELECT, index);
    return mmio_read16(vp->common + COMMON_QUEUE_SIZE);
}

static void write_addr64(volatile uint8_t *reg, dma_addr_t addr)
{
    mmio_write32(reg, (uint32_t)addr);
    mmio_write32(reg + 4, (uint32_t)(addr >> 32));
}

int virtio_pci_queue_enable(struct virtio_pci *vp, struct virtqueue *vq, uint16_t *vector)
{
    volatile uint8_t *c = vp->common;
    uint32_t notify_off;
    uint16_t took;

    mmio_write16(c + COMMON_QUEUE_SELECT, vq->index);
    mmio_write16(c + COMMON_QUEUE_SIZE, vq->size);
    write_addr64(c + COMMON_QUEUE_DESC, vq->desc_dma);
    write_addr64(c + COMMON_QUEUE_DRIVER, vq->avail_dma);
    write_addr64(c + COMMON_QUEUE_DEVICE, vq->used_dma);
    /* A vector the device cannot map reads back as NO_VECTOR (4.1.5.1.3):
     * the queue goes without. Anything else is a device fault. */
    mmio_write16(c + COMMON_QUEUE_MSIX_VECTOR, *vector);
    took = mmio_read16(c + COMMON_QUEUE_MSIX_VECTOR);
    if (took != *vector && took != VIRTIO_MSI_NO_VECTOR)
        return -PM_EIO;
    *vector = took;
    /* 4.1.4.4: the doorbell is cap.offset + queue_notify_off * multiplier. */
    notify_off = (uint32_t)mmio_read16(c + COMMON_QUEUE_NOTIFY_OFF) * vp->notify_off_multiplier;
    if ((uint64_t)notify_off + 2 > vp->notify_bytes)
        return -PM_EIO;
    vq->notify_addr = vp->notify + notify_off;
    mmio_write16(c + COMMON_QUEUE_ENABLE, 1);
    return 0;
}

/* ---- device configuration (4.1.4.6) ---- */

uint8_t virtio_pci_cfg_read8(struct virtio_pci *vp, uint32_t off)
{
    if (off + 1 > vp->device_cfg_bytes)
        return 0xff;
    return mmio_read8(vp->device_cfg + off);
}

uint16_t virtio_pci_cfg_read16(struct virtio_pci *vp, uint32_t off)
{
    if (off + 2 > vp->device_cfg_bytes)
        return 0xffff;
    return mmio_read16(vp->device_cfg + off);
}

uint8_t virtio_pci_config_generation(struct virtio_pci *vp)
{
    return mmio_read8(vp->common + COMMON_CONFIG_GENERATION);
}
