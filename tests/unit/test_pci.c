/*
 * Tests for kernel/pci.c: BAR decode as a pure function, then enumeration,
 * BAR sizing, config helpers and the capability walk against a model of a
 * q35 machine's config space (tests/models/pci_model.h):
 *
 *   bus 0  00.0 host bridge      01.0 VGA          02.0 e1000
 *          03.0 virtio-net 1.0 (64-bit BAR above 4 GiB, virtio capabilities)
 *          1c.0 PCIe root port -> bus 1
 *          1f.0 ISA bridge (multi-function), 1f.2 SATA, 1f.3 SMBus
 *   bus 1  00.0 virtio-net transitional
 *
 * plus two functions the walk must not find: 00:02.3 behind a single-
 * function device and a device on bus 2, which no bridge leads to.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/pci.h"
#include "net/errno.h"
#include "tests/models/pci_model.h"

#define MAX_DEVS 16

static struct pci_model model;
static struct pci_cfg_ops ops;
static struct pci_dev devs[MAX_DEVS];
static struct pci_model_fn *host, *vga, *e1000, *virtio, *root_port, *isa, *sata, *smbus,
                           *virtio_legacy;

static void add_virtio_caps(struct pci_model_fn *f)
{
    pci_model_cap(f, 0x98, PCI_CAP_ID_MSIX, 12);
    pci_model_cap(f, 0x84, PCI_CAP_ID_VENDOR, 20);   /* common config */
    pci_model_cap(f, 0x70, PCI_CAP_ID_VENDOR, 20);   /* notify */
    pci_model_cap(f, 0x60, PCI_CAP_ID_VENDOR, 16);   /* ISR */
    pci_model_cap(f, 0x50, PCI_CAP_ID_VENDOR, 16);   /* device config */
    pci_model_cap(f, 0x40, PCI_CAP_ID_VENDOR, 16);   /* a fifth vendor capability */
}

static void build_bus0(void)
{
    host = pci_model_add(&model, 0, 0x00, 0, 0x8086, 0x29c0, 0x06, 0x00, 0x00);
    vga = pci_model_add(&model, 0, 0x01, 0, 0x1234, 0x1111, 0x03, 0x00, 0x00);
    pci_model_bar(vga, 0, 0xC0000000, 16 << 20, PCI_MODEL_BAR_PREFETCH);
    pci_model_bar(vga, 2, 0xC1000000, 4096, 0);
    e1000 = pci_model_add(&model, 0, 0x02, 0, 0x8086, 0x100e, 0x02, 0x00, 0x00);
    pci_model_bar(e1000, 0, 0xC1020000, 128 << 10, 0);
    pci_model_bar(e1000, 1, 0xC000, 64, PCI_MODEL_BAR_IO);
    pci_model_poke32(e1000, PCI_CFG_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO |
                                             PCI_COMMAND_BUS_MASTER);
    virtio = pci_model_add(&model, 0, 0x03, 0, 0x1af4, 0x1041, 0x02, 0x00, 0x00);
    pci_model_bar(virtio, 1, 0xC1040000, 4096, 0);
    pci_model_bar(virtio, 4, 0xE000000000ull, 16 << 10,
                  PCI_MODEL_BAR_64 | PCI_MODEL_BAR_PREFETCH);
    pci_model_poke32(virtio, PCI_CFG_COMMAND, PCI_COMMAND_MEMORY);
    add_virtio_caps(virtio);
}

static void build_bridge_and_chipset(void)
{
    root_port = pci_model_add(&model, 0, 0x1c, 0, 0x1b36, 0x000c, 0x06, 0x04, 0x01);
    pci_model_bar(root_port, 0, 0xC1041000, 4096, 0);
    pci_model_bridge(root_port, 0, 1, 1);
    pci_model_cap(root_port, 0x40, PCI_CAP_ID_PCIE, 60);
    isa = pci_model_add(&model, 0, 0x1f, 0, 0x8086, 0x2918, 0x06, 0x01, 0x80);
    sata = pci_model_add(&model, 0, 0x1f, 2, 0x8086, 0x2922, 0x01, 0x06, 0x00);
    pci_model_bar(sata, 4, 0xC040, 32, PCI_MODEL_BAR_IO);
    pci_model_bar(sata, 5, 0xC1042000, 4096, 0);
    smbus = pci_model_add(&model, 0, 0x1f, 3, 0x8086, 0x2930, 0x0c, 0x05, 0x00);
    pci_model_bar(smbus, 4, 0x0700, 64, PCI_MODEL_BAR_IO);
    virtio_legacy = pci_model_add(&model, 1, 0x00, 0, 0x1af4, 0x1000, 0x02, 0x00, 0x00);
    pci_model_bar(virtio_legacy, 0, 0xD000, 32, PCI_MODEL_BAR_IO);
    pci_model_bar(virtio_legacy, 1, 0xC0200000, 4096, 0);
    pci_model_bar(virtio_legacy, 4, 0xE000004000ull, 16 << 10, PCI_MODEL_BAR_64);
}

static void setup_q35(void)
{
    pci_model_init(&model);
    build_bus0();
    build_bridge_and_chipset();
    /* Not reachable: fn 3 of a single-function device, and a bus no bridge names. */
    pci_model_add(&model, 0, 0x02, 3, 0x8086, 0x100e, 0x02, 0x00, 0x00);
    pci_model_add(&model, 2, 0x00, 0, 0x8086, 0x10d3, 0x02, 0x00, 0x00);
    pci_model_ops(&model, &ops);
    memset(devs, 0, sizeof(devs));
}

TestSuite(pci, .init = setup_q35);

static const struct pci_dev *find_dev(int n, uint8_t bus, uint8_t dev, uint8_t fn)
{
    for (int i = 0; i < n && i < MAX_DEVS; i++)
        if (devs[i].bus == bus && devs[i].dev == dev && devs[i].fn == fn)
            return &devs[i];
    return NULL;
}

static struct pci_dev dev_of(const struct pci_model_fn *f)
{
    struct pci_dev d = { .bus = f->bus, .dev = f->dev, .fn = f->fn };

    d.header_type = f->cfg[PCI_CFG_HEADER_TYPE];
    return d;
}

/* ---- BAR decode (pure) ---- */

Test(pci, decode_32bit_memory_bar)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0xC1020000, 0, 0xFFFE0000, 0, false, &bar), 1);
    cr_assert_eq(bar.base, 0xC1020000);
    cr_assert_eq(bar.size, 128 << 10);
    cr_assert_not(bar.is_io);
    cr_assert_not(bar.is_64);
    cr_assert_not(bar.prefetchable);
}

Test(pci, decode_64bit_memory_bar_above_4gib)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0x0000000C, 0xE0, 0xFFFFC00C, 0xFFFFFFFF, false, &bar), 2);
    cr_assert_eq(bar.base, 0xE000000000ull);
    cr_assert_eq(bar.size, 16 << 10);
    cr_assert(bar.is_64);
    cr_assert(bar.prefetchable);
    cr_assert_not(bar.is_io);
}

Test(pci, decode_64bit_bar_larger_than_4gib_sizes_from_the_high_dword)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0x0000000C, 0x4, 0x0000000C, 0xFFFFFFFE, false, &bar), 2);
    cr_assert_eq(bar.base, 0x400000000ull);
    cr_assert_eq(bar.size, 8ull << 30);
}

Test(pci, decode_io_bar)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0xC001, 0, 0xFFFFFFC1, 0, false, &bar), 1);
    cr_assert(bar.is_io);
    cr_assert_eq(bar.base, 0xC000);
    cr_assert_eq(bar.size, 64);
    cr_assert_not(bar.is_64);
    cr_assert_not(bar.prefetchable);
}

Test(pci, decode_io_bar_with_upper_16_bits_hardwired_to_zero)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0xD001, 0, 0x0000FFE1, 0, false, &bar), 1);
    cr_assert_eq(bar.size, 32);
}

Test(pci, decode_prefetchable_32bit_memory_bar)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0xC0000008, 0, 0xFF000008, 0, false, &bar), 1);
    cr_assert(bar.prefetchable);
    cr_assert_eq(bar.base, 0xC0000000);
    cr_assert_eq(bar.size, 16 << 20);
}

Test(pci, decode_unimplemented_bar_is_size_0)
{
    struct pci_bar bar;

    memset(&bar, 0xa5, sizeof(bar));
    cr_assert_eq(pci_bar_decode(0, 0, 0, 0, false, &bar), 1);
    cr_assert_eq(bar.size, 0);
    cr_assert_eq(bar.base, 0);
    cr_assert_not(bar.is_io);
    cr_assert_not(bar.is_64);
}

Test(pci, decode_64bit_bar_in_last_slot_is_einval)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0x4, 0, 0xFFFFC004, 0, true, &bar), -PM_EINVAL);
    cr_assert_eq(bar.size, 0);
}

Test(pci, decode_reserved_memory_type_is_einval)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0x6, 0, 0xFFFFF006, 0, false, &bar), -PM_EINVAL);
    cr_assert_eq(bar.size, 0);
}

Test(pci, decode_below_1mib_type_decodes_as_32bit)
{
    struct pci_bar bar;

    cr_assert_eq(pci_bar_decode(0x000A0002, 0, 0xFFFE0002, 0, false, &bar), 1);
    cr_assert_eq(bar.base, 0xA0000);
    cr_assert_eq(bar.size, 128 << 10);
    cr_assert_not(bar.is_64);
}

/* ---- enumeration ---- */

Test(pci, enumerate_finds_exactly_the_model_devices_in_bdf_order)
{
    static const struct { uint8_t bus, dev, fn; uint16_t vendor, device; } want[] = {
        { 0, 0x00, 0, 0x8086, 0x29c0 }, { 0, 0x01, 0, 0x1234, 0x1111 },
        { 0, 0x02, 0, 0x8086, 0x100e }, { 0, 0x03, 0, 0x1af4, 0x1041 },
        { 0, 0x1c, 0, 0x1b36, 0x000c }, { 0, 0x1f, 0, 0x8086, 0x2918 },
        { 0, 0x1f, 2, 0x8086, 0x2922 }, { 0, 0x1f, 3, 0x8086, 0x2930 },
        { 1, 0x00, 0, 0x1af4, 0x1000 },
    };
    int n = pci_enumerate(&ops, devs, MAX_DEVS);

    cr_assert_eq(n, 9);
    for (int i = 0; i < n; i++) {
        cr_expect_eq(devs[i].bus, want[i].bus, "dev %d", i);
        cr_expect_eq(devs[i].dev, want[i].dev, "dev %d", i);
        cr_expect_eq(devs[i].fn, want[i].fn, "dev %d", i);
        cr_expect_eq(devs[i].vendor, want[i].vendor, "dev %d", i);
        cr_expect_eq(devs[i].device, want[i].device, "dev %d", i);
    }
}

Test(pci, enumerate_reads_class_and_header_type)
{
    int n = pci_enumerate(&ops, devs, MAX_DEVS);
    const struct pci_dev *d = find_dev(n, 0, 0x1f, 2);
    const struct pci_dev *bridge = find_dev(n, 0, 0x1c, 0);
    const struct pci_dev *isa_dev = find_dev(n, 0, 0x1f, 0);

    cr_assert_not_null(d);
    cr_assert_eq(d->class_code, 0x01);
    cr_assert_eq(d->subclass, 0x06);
    cr_assert_eq(bridge->header_type & PCI_HEADER_TYPE_MASK, PCI_HEADER_TYPE_BRIDGE);
    cr_assert(isa_dev->header_type & PCI_HEADER_MULTI_FN);
}

Test(pci, enumerate_follows_the_bridge_and_touches_no_other_bus)
{
    int n = pci_enumerate(&ops, devs, MAX_DEVS);

    cr_assert_not_null(find_dev(n, 1, 0, 0), "device behind the bridge");
    cr_assert_null(find_dev(n, 2, 0, 0), "bus 2 is not behind any bridge");
    for (int bus = 2; bus < 256; bus++)
        cr_assert_not(pci_model_bus_touched(&model, (uint8_t)bus), "bus %d was read", bus);
}

Test(pci, enumerate_skips_functions_of_a_single_function_device)
{
    int n = pci_enumerate(&ops, devs, MAX_DEVS);

    cr_assert_null(find_dev(n, 0, 0x02, 3));
}

Test(pci, enumerate_scans_every_function_of_a_multifunction_device)
{
    int n = pci_enumerate(&ops, devs, MAX_DEVS);

    cr_assert_not_null(find_dev(n, 0, 0x1f, 0));
    cr_assert_null(find_dev(n, 0, 0x1f, 1));
    cr_assert_not_null(find_dev(n, 0, 0x1f, 2));
    cr_assert_not_null(find_dev(n, 0, 0x1f, 3));
}

Test(pci, enumerate_sizes_memory_io_and_64bit_bars)
{
    int n = pci_enumerate(&ops, devs, MAX_DEVS);
    const struct pci_dev *e = find_dev(n, 0, 0x02, 0);
    const struct pci_dev *v = find_dev(n, 0, 0x03, 0);

    cr_assert_eq(e->bar[0].base, 0xC1020000);
    cr_assert_eq(e->bar[0].size, 128 << 10);
    cr_assert(e->bar[1].is_io);
    cr_assert_eq(e->bar[1].base, 0xC000);
    cr_assert_eq(e->bar[1].size, 64);
    cr_assert_eq(e->bar[2].size, 0);
    cr_assert_eq(v->bar[4].base, 0xE000000000ull);
    cr_assert_eq(v->bar[4].size, 16 << 10);
    cr_assert(v->bar[4].is_64);
    cr_assert(v->bar[4].prefetchable);
    cr_assert_eq(v->bar[5].size, 0, "the upper half of a 64-bit BAR is not a BAR");
    cr_assert_eq(v->bar[5].base, 0);
}

Test(pci, enumerate_sizes_the_bridge_s_two_bars_only)
{
    int n = pci_enumerate(&ops, devs, MAX_DEVS);
    const struct pci_dev *b = find_dev(n, 0, 0x1c, 0);

    cr_assert_eq(b->bar[0].base, 0xC1041000);
    cr_assert_eq(b->bar[0].size, 4096);
    cr_assert_eq(pci_model_peek32(root_port, 0x18), 0x00010100, "bus numbers untouched");
}

Test(pci, enumerate_leaves_config_space_exactly_as_it_found_it)
{
    struct pci_model before = model;

    pci_enumerate(&ops, devs, MAX_DEVS);
    for (int i = 0; i < model.nb_fns; i++)
        cr_assert_arr_eq(model.fns[i].cfg, before.fns[i].cfg, PCI_MODEL_CFG_BYTES,
                         "function %d changed", i);
}

Test(pci, enumerate_restores_bars_and_command_of_a_decoding_device)
{
    pci_enumerate(&ops, devs, MAX_DEVS);
    cr_assert_eq(pci_model_peek32(e1000, 0x10), 0xC1020000);
    cr_assert_eq(pci_model_peek32(e1000, 0x14), 0xC001);
    cr_assert_eq(pci_model_peek32(virtio, 0x20), 0x0000000C);
    cr_assert_eq(pci_model_peek32(virtio, 0x24), 0xE0);
    cr_assert_eq(pci_model_peek32(e1000, PCI_CFG_COMMAND) & 0xffff,
                 PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_BUS_MASTER);
}

Test(pci, enumerate_turns_decode_off_while_a_bar_holds_all_ones)
{
    pci_enumerate(&ops, devs, MAX_DEVS);
    for (int i = 0; i < model.nb_fns; i++)
        cr_assert_eq(model.fns[i].nb_bar_ones_while_decoding, 0, "function %d", i);
}

Test(pci, enumerate_keeps_status_error_bits)
{
    uint32_t master_abort = 1u << (16 + 13);

    pci_model_poke32(e1000, PCI_CFG_COMMAND,
                     pci_model_peek32(e1000, PCI_CFG_COMMAND) | master_abort);
    pci_enumerate(&ops, devs, MAX_DEVS);
    cr_assert(pci_model_peek32(e1000, PCI_CFG_COMMAND) & master_abort);
}

Test(pci, enumerate_past_max_counts_all_but_fills_only_max)
{
    struct pci_dev sentinel;
    int n;

    memset(&devs[3], 0x5a, sizeof(devs[3]));
    sentinel = devs[3];
    n = pci_enumerate(&ops, devs, 3);
    cr_assert_eq(n, 9);
    cr_assert_eq(devs[2].dev, 0x02);
    cr_assert_arr_eq(&devs[3], &sentinel, sizeof(sentinel));
}

Test(pci, enumerate_with_no_room_writes_no_config_register)
{
    cr_assert_eq(pci_enumerate(&ops, NULL, 0), 9);
    cr_assert_eq(model.nb_writes, 0, "BARs of unrecorded functions are not probed");
}

Test(pci, enumerate_an_empty_bus_reads_32_ids)
{
    pci_model_init(&model);
    cr_assert_eq(pci_enumerate(&ops, devs, MAX_DEVS), 0);
    cr_assert_eq(model.nb_reads, 32);
}

Test(pci, enumerate_ignores_a_bridge_pointing_back_to_a_lower_bus)
{
    struct pci_model_fn *loop = pci_model_add(&model, 1, 0x01, 0, 0x1b36, 0x0001, 0x06, 0x04,
                                              0x01);

    pci_model_bridge(loop, 1, 0, 0);
    cr_assert_eq(pci_enumerate(&ops, devs, MAX_DEVS), 10);
}

Test(pci, bridge_with_64bit_bar1_does_not_probe_its_bus_numbers)
{
    int n;

    pci_model_poke32(root_port, 0x14, 0x4);    /* 64-bit type in the last slot */
    n = pci_enumerate(&ops, devs, MAX_DEVS);
    cr_assert_eq(find_dev(n, 0, 0x1c, 0)->bar[1].size, 0);
    cr_assert_eq(pci_model_peek32(root_port, 0x18), 0x00010100);
    cr_assert_not_null(find_dev(n, 1, 0, 0));
}

/* ---- config helpers and enable ---- */

Test(pci, sub_dword_reads_pick_the_right_bytes)
{
    struct pci_dev d = dev_of(isa);

    cr_assert_eq(pci_cfg_read16(&ops, &d, PCI_CFG_VENDOR_ID), 0x8086);
    cr_assert_eq(pci_cfg_read16(&ops, &d, PCI_CFG_DEVICE_ID), 0x2918);
    cr_assert_eq(pci_cfg_read8(&ops, &d, PCI_CFG_HEADER_TYPE), 0x80);
    cr_assert_eq(pci_cfg_read8(&ops, &d, 0x0b), 0x06);
    cr_assert_eq(pci_cfg_read8(&ops, &d, 0x0a), 0x01);
}

Test(pci, sub_dword_writes_keep_neighbouring_bytes)
{
    struct pci_dev d = dev_of(root_port);

    pci_cfg_write8(&ops, &d, 0x19, 0x07);
    cr_assert_eq(pci_model_peek32(root_port, 0x18), 0x00010700);
    pci_cfg_write16(&ops, &d, 0x1a, 0x0009);
    cr_assert_eq(pci_model_peek32(root_port, 0x18), 0x00090700);
    pci_cfg_write32(&ops, &d, 0x18, 0x00010100);
    cr_assert_eq(pci_cfg_read32(&ops, &d, 0x18), 0x00010100);
}

Test(pci, enable_sets_requested_bits_and_keeps_the_rest)
{
    struct pci_dev d = dev_of(vga);

    pci_model_poke32(vga, PCI_CFG_COMMAND, PCI_COMMAND_INTX_DISABLE);
    pci_enable(&ops, &d, true, false, true);
    cr_assert_eq(pci_model_peek32(vga, PCI_CFG_COMMAND) & 0xffff,
                 PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    pci_enable(&ops, &d, false, true, false);
    cr_assert_eq(pci_model_peek32(vga, PCI_CFG_COMMAND) & 0xffff,
                 PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER |
                 PCI_COMMAND_IO);
}

Test(pci, enable_does_not_clear_status_error_bits)
{
    struct pci_dev d = dev_of(vga);
    uint32_t target_abort = 1u << (16 + 12);

    pci_model_poke32(vga, PCI_CFG_COMMAND, target_abort);
    pci_enable(&ops, &d, true, true, true);
    cr_assert(pci_model_peek32(vga, PCI_CFG_COMMAND) & target_abort);
}

Test(pci, enable_writes_nothing_when_bits_already_set)
{
    struct pci_dev d = dev_of(e1000);
    unsigned nb_writes = model.nb_writes;

    pci_enable(&ops, &d, true, false, true);
    cr_assert_eq(model.nb_writes, nb_writes);
}

/* ---- capabilities ---- */

Test(pci, find_cap_from_the_list_head)
{
    struct pci_dev d = dev_of(virtio);

    cr_assert_eq(pci_find_cap(&ops, &d, PCI_CAP_ID_MSIX, 0), 0x98);
}

Test(pci, find_cap_walks_every_capability_with_the_same_id)
{
    static const int want[] = { 0x84, 0x70, 0x60, 0x50, 0x40 };
    struct pci_dev d = dev_of(virtio);
    int off = 0;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        off = pci_find_cap(&ops, &d, PCI_CAP_ID_VENDOR, off);
        cr_assert_eq(off, want[i], "vendor capability %zu", i);
    }
    cr_assert_eq(pci_find_cap(&ops, &d, PCI_CAP_ID_VENDOR, off), -PM_ENOENT);
}

Test(pci, find_cap_missing_id_is_enoent)
{
    struct pci_dev d = dev_of(virtio);

    cr_assert_eq(pci_find_cap(&ops, &d, PCI_CAP_ID_MSI, 0), -PM_ENOENT);
}

Test(pci, find_cap_without_status_cap_list_is_enoent)
{
    struct pci_dev d = dev_of(host);

    host->cfg[PCI_CFG_CAP_PTR] = 0x40;     /* stale pointer must not be followed */
    cr_assert_eq(pci_find_cap(&ops, &d, PCI_CAP_ID_PM, 0), -PM_ENOENT);
}

Test(pci, find_cap_on_a_looped_list_terminates)
{
    struct pci_dev d = dev_of(virtio);

    virtio->cfg[0x40 + 1] = 0x98;          /* tail points back at the head */
    cr_assert_eq(pci_find_cap(&ops, &d, PCI_CAP_ID_PM, 0), -PM_ENOENT);
}

Test(pci, find_cap_with_start_inside_the_header_is_einval)
{
    struct pci_dev d = dev_of(virtio);

    cr_assert_eq(pci_find_cap(&ops, &d, PCI_CAP_ID_VENDOR, 0x10), -PM_EINVAL);
    cr_assert_eq(pci_find_cap(&ops, &d, PCI_CAP_ID_VENDOR, 0x100), -PM_EINVAL);
}

/* ---- names ---- */

Test(pci, nic_names)
{
    cr_assert_str_eq(pci_nic_name(0x8086, 0x100e), "e1000 (82540EM)");
    cr_assert_str_eq(pci_nic_name(0x1af4, 0x1000), "virtio-net (transitional)");
    cr_assert_str_eq(pci_nic_name(0x1af4, 0x1041), "virtio-net");
    cr_assert_null(pci_nic_name(0x8086, 0x10d3));
    cr_assert_null(pci_nic_name(0x1af4, 0x1001));
}

Test(pci, class_names)
{
    cr_assert_str_eq(pci_class_name(0x02, 0x00), "ethernet");
    cr_assert_str_eq(pci_class_name(0x06, 0x00), "host bridge");
    cr_assert_str_eq(pci_class_name(0x06, 0x01), "isa bridge");
    cr_assert_str_eq(pci_class_name(0x06, 0x04), "pci bridge");
    cr_assert_str_eq(pci_class_name(0x01, 0x06), "sata");
    cr_assert_str_eq(pci_class_name(0x03, 0x00), "vga");
    cr_assert_str_eq(pci_class_name(0x0c, 0x05), "smbus");
    cr_assert_str_eq(pci_class_name(0x12, 0x00), "other");
}

/* ---- real ECAM accessors, pointed at host memory ---- */

#define ECAM_BUS_BYTES (1u << 20)

static uint32_t *ecam_slot(uint8_t *ecam, int bus, int dev, int fn, int off)
{
    return (uint32_t *)(ecam + ((size_t)bus << 20) + (dev << 15) + (fn << 12) + off);
}

Test(pci, ecam_ops_address_bus_device_function_and_offset)
{
    uint8_t *ecam = calloc(2, ECAM_BUS_BYTES);
    struct pci_cfg_ops ecam_ops;

    cr_assert_not_null(ecam);
    pci_ecam_ops(&ecam_ops, (uint64_t)(uintptr_t)ecam, 0, 255);
    *ecam_slot(ecam, 1, 3, 2, 0x10) = 0xfeedc0de;
    cr_assert_eq(ecam_ops.read32(ecam_ops.ctx, 1, 3, 2, 0x10), 0xfeedc0de);
    ecam_ops.write32(ecam_ops.ctx, 0, 31, 7, 0xffc, 0x12345678);
    cr_assert_eq(*ecam_slot(ecam, 0, 31, 7, 0xffc), 0x12345678);
    free(ecam);
}

Test(pci, ecam_base_names_bus_0_and_buses_below_start_read_as_absent)
{
    uint8_t *ecam = calloc(2, ECAM_BUS_BYTES);
    struct pci_cfg_ops ecam_ops;

    cr_assert_not_null(ecam);
    pci_ecam_ops(&ecam_ops, (uint64_t)(uintptr_t)ecam, 1, 255);
    *ecam_slot(ecam, 1, 0, 0, 0) = 0x10001af4;
    cr_assert_eq(ecam_ops.read32(ecam_ops.ctx, 1, 0, 0, 0), 0x10001af4);
    cr_assert_eq(ecam_ops.read32(ecam_ops.ctx, 0, 0, 0, 0), 0xffffffffu);
    ecam_ops.write32(ecam_ops.ctx, 0, 0, 0, 0, 0x11111111);
    cr_assert_eq(*ecam_slot(ecam, 0, 0, 0, 0), 0, "write below bus_start dropped");
    free(ecam);
}

Test(pci, buses_above_the_mcfg_range_read_as_absent_and_are_never_touched)
{
    /* Only buses 0..1 exist in this window; bus 2 lies past the memory. */
    uint8_t *ecam = calloc(2, ECAM_BUS_BYTES);
    struct pci_cfg_ops ecam_ops;

    cr_assert_not_null(ecam);
    pci_ecam_ops(&ecam_ops, (uint64_t)(uintptr_t)ecam, 0, 1);
    *ecam_slot(ecam, 1, 0, 0, 0) = 0x10001af4;
    cr_assert_eq(ecam_ops.read32(ecam_ops.ctx, 1, 0, 0, 0), 0x10001af4);
    cr_assert_eq(ecam_ops.read32(ecam_ops.ctx, 2, 0, 0, 0), 0xffffffffu);  /* ASan: no read */
    ecam_ops.write32(ecam_ops.ctx, 2, 0, 0, 0, 0x11111111);               /* ASan: no write */
    free(ecam);
}

/* ---- MSI-X (6.8.2) ---- */

static struct pci_model msix_model;
static struct pci_model_fn *msix_f;
static uint32_t msix_bar_mem[1024] __attribute__((aligned(4096)));   /* plain memory */

/* A function with an MSI-X capability at 0x60: `entries` entries, table at
 * table_off in BAR bir (4 KiB at msix_bar_mem, or an I/O BAR at 1). */
static struct pci_dev msix_fn(uint16_t entries, uint8_t bir, uint32_t table_off)
{
    struct pci_cfg_ops o;
    struct pci_dev d;
    struct pci_model_fn *f;

    pci_model_init(&msix_model);
    f = msix_f = pci_model_add(&msix_model, 0, 5, 0, 0x1af4, 0x1041, 0x02, 0x00, 0x00);
    pci_model_bar(f, 0, 0xc100, 32, PCI_MODEL_BAR_IO);
    pci_model_bar(f, 2, (uint64_t)(uintptr_t)msix_bar_mem, sizeof(msix_bar_mem),
                  PCI_MODEL_BAR_64);
    pci_model_cap(f, 0x60, PCI_CAP_ID_MSIX, 12);
    pci_model_poke32(f, 0x60, PCI_CAP_ID_MSIX | (uint32_t)(entries - 1) << 16);
    f->wmask[0x63] = 0xc0;                     /* enable and function mask */
    pci_model_poke32(f, 0x64, table_off | bir);
    pci_model_poke32(f, 0x68, 0x800 | bir);
    pci_model_ops(&msix_model, &o);
    cr_assert_eq(pci_enumerate(&o, &d, 1), 1);
    return d;
}

Test(pci, msix_probe_finds_the_table_in_its_bar)
{
    struct pci_cfg_ops o;
    struct pci_msix x;
    struct pci_dev d = msix_fn(4, 2, 0x100);

    pci_model_ops(&msix_model, &o);
    cr_assert_eq(pci_msix_probe(&o, &d, &x), 0);
    cr_assert_eq(x.cap, 0x60);
    cr_assert_eq(x.table_size, 4);
    cr_assert_eq((uintptr_t)x.table, (uintptr_t)msix_bar_mem + 0x100);
}

Test(pci, msix_probe_refuses_tables_it_cannot_reach)
{
    struct pci_cfg_ops o;
    struct pci_msix x;
    struct pci_dev d;

    d = msix_fn(4, 0, 0);                      /* an I/O BAR */
    pci_model_ops(&msix_model, &o);
    cr_assert_eq(pci_msix_probe(&o, &d, &x), -PM_ENODEV);
    d = msix_fn(4, 4, 0);                      /* a BAR that is not there */
    cr_assert_eq(pci_msix_probe(&o, &d, &x), -PM_ENODEV);
    d = msix_fn(4, 7, 0);                      /* BIR 7: reserved */
    cr_assert_eq(pci_msix_probe(&o, &d, &x), -PM_ENODEV);
    d = msix_fn(8, 2, 4096 - 64);              /* 8 entries do not fit in what is left */
    cr_assert_eq(pci_msix_probe(&o, &d, &x), -PM_ENODEV);
    d = msix_fn(4, 2, 4096 - 64);              /* 4 do, exactly */
    cr_assert_eq(pci_msix_probe(&o, &d, &x), 0);
    d = msix_fn(4, 2, 0);
    pci_model_poke32(msix_f, PCI_CFG_COMMAND, 0);   /* COMMAND and STATUS: no capability list */
    cr_assert_eq(pci_msix_probe(&o, &d, &x), -PM_ENOENT);
}

Test(pci, msix_entries_and_enable)
{
    struct pci_cfg_ops o;
    struct pci_msix x;
    struct pci_dev d = msix_fn(4, 2, 0);

    pci_model_ops(&msix_model, &o);
    cr_assert_eq(pci_msix_probe(&o, &d, &x), 0);
    memset(msix_bar_mem, 0, sizeof(msix_bar_mem));
    cr_assert_eq(pci_msix_set_entry(&x, 1, 0xfee01000ull, 0x21, false), 0);
    cr_assert_eq(msix_bar_mem[4], 0xfee01000u);
    cr_assert_eq(msix_bar_mem[5], 0);
    cr_assert_eq(msix_bar_mem[6], 0x21);
    cr_assert_eq(msix_bar_mem[7], 0, "unmasked");
    cr_assert_eq(pci_msix_set_entry(&x, 2, 0x123456789ull, 0x30, true), 0);
    cr_assert_eq(msix_bar_mem[9], 0x1, "high half of the address");
    cr_assert_eq(msix_bar_mem[11], PCI_MSIX_ENTRY_MASKED);
    cr_assert_eq(pci_msix_set_entry(&x, 4, 0xfee00000ull, 0x21, false), -PM_EINVAL);
    pci_model_poke32(msix_f, 0x60, pci_model_peek32(msix_f, 0x60) | PCI_MSIX_CTRL_MASKALL << 16);
    pci_msix_enable(&o, &d, &x, true);
    uint32_t ctrl = pci_model_peek32(msix_f, 0x60) >> 16;
    cr_assert_eq(ctrl, PCI_MSIX_CTRL_ENABLE | 3, "enabled, function unmasked, size kept");
    pci_msix_enable(&o, &d, &x, false);
    cr_assert_eq(pci_model_peek32(msix_f, 0x60) >> 16, 3);
}
