/*
 * kernel_main: from ExitBootServices to the polling loop (DESIGN.md, Boot
 * step 2).
 *
 *   serial -> GDT/TSS/IDT -> config verdict -> ACPI -> page tables
 *   -> (own stack) -> TSC clock -> PCI walk, BARs mapped -> banner -> ready
 *   -> loop: poll ports (later issues), poll the console
 *
 * Everything after ExitBootServices is ours: no firmware call is made again
 * except ResetSystem on the way out (exit.c).
 */
#include "kernel/acpi.h"
#include "kernel/boot_info.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/exit.h"
#include "kernel/idle.h"
#include "kernel/io.h"
#include "kernel/mm.h"
#include "kernel/pci.h"
#include "kernel/ports.h"
#include "kernel/trap.h"
#include "net/config.h"

#ifndef PKTMETAL_VERSION
#define PKTMETAL_VERSION "unknown"
#endif

#define PCI_MAX_DEVS 64
#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

static struct boot_info *kbi;
static struct acpi_info acpi;
static struct pci_cfg_ops pci_ops;
static struct pci_dev *pci_devs;
static int nb_pci_devs;

static void cmd_pci(const char *args);
static void cmd_mem(const char *args);
static void cmd_quit(const char *args);
static void cmd_stats(const char *args);
static void cmd_routes(const char *args) { (void)args; ports_print_routes(); }
static void cmd_arp(const char *args) { (void)args; ports_print_arp(); }
static void cmd_acl(const char *args) { (void)args; ports_print_acl(); }
static void cmd_macs(const char *args) { (void)args; ports_print_macs(); }
static void cmd_capture(const char *args) { ports_capture_command(args); }

static const struct console_cmd kernel_cmds[] = {
    { "pci",  "list PCI devices and their BARs", cmd_pci },
    { "mem",  "memory map summary",              cmd_mem },
    { "stats", "[json]: per-port counters, drops by reason, pool use", cmd_stats },
    { "routes", "router: the routing table",      cmd_routes },
    { "arp",  "router: the neighbour (ARP) table", cmd_arp },
    { "acl",  "ACL rules with their hit counters", cmd_acl },
    { "macs", "bridge: the MAC table",            cmd_macs },
    { "capture", "start|stop|status: live capture (tools/pktcap drives it)", cmd_capture },
    { "quit", "stop the ports, print final counters, power off", cmd_quit },
    { NULL, NULL, NULL },
};

static void __attribute__((noreturn)) fail(enum exit_code code, const char *what)
{
    kprintf("pktmetal: %s; stopping (exit code %d)\n", what, code);
    machine_fail(code);
}

static void report_config(const struct boot_info *bi)
{
    if (!bi->config_found)
        kprintf("config: no pktmetal.conf on the boot volume, using built-in defaults\n");
    if (bi->config_status < 0) {
        kprintf("%s\n", bi->config_error);
        fail(EXIT_CONFIG, "bad configuration");
    }
    if (bi->config_found)
        kprintf("config: pktmetal.conf read\n");
}

static void pci_walk(void)
{
    pci_devs = kmem_alloc(sizeof(*pci_devs) * PCI_MAX_DEVS, 64);
    if (pci_devs == NULL)
        fail(EXIT_PLATFORM, "no kernel memory for the PCI device list");
    pci_ecam_ops(&pci_ops, acpi.ecam_base, acpi.ecam_bus_start, acpi.ecam_bus_end);
    nb_pci_devs = pci_enumerate(&pci_ops, pci_devs, PCI_MAX_DEVS);
    if (nb_pci_devs > PCI_MAX_DEVS) {
        kprintf("pci: %d devices found, only the first %d are used\n", nb_pci_devs,
                PCI_MAX_DEVS);
        nb_pci_devs = PCI_MAX_DEVS;
    }
    /* BARs can sit far above 4 GiB (TRAPS.md): map each one found. */
    for (int i = 0; i < nb_pci_devs; i++) {
        for (int b = 0; b < 6; b++) {
            const struct pci_bar *bar = &pci_devs[i].bar[b];
            if (bar->size == 0 || bar->is_io || bar->base == 0)
                continue;
            if (mm_map_mmio(bar->base, bar->size) < 0)
                fail(EXIT_PLATFORM, "out of page-table memory mapping PCI BARs");
        }
        /* A NIC a driver will claim gets memory decoding and bus mastering. */
        if (pci_nic_name(pci_devs[i].vendor, pci_devs[i].device) != NULL)
            pci_enable(&pci_ops, &pci_devs[i], true, true, true);
    }
}

static void banner_pci_line(void)
{
    kprintf("pci: %d devices:", nb_pci_devs);
    int nics = 0;
    for (int i = 0; i < nb_pci_devs; i++) {
        const char *nic = pci_nic_name(pci_devs[i].vendor, pci_devs[i].device);
        if (nic == NULL)
            continue;
        kprintf(" %s %04x:%04x at %02x:%02x.%x;", nic, pci_devs[i].vendor,
                pci_devs[i].device, pci_devs[i].bus, pci_devs[i].dev, pci_devs[i].fn);
        nics++;
    }
    kprintf(" %d NIC%s recognised\n", nics, nics == 1 ? "" : "s");
}

static void print_banner(void)
{
    struct mm_summary mm;
    struct cpu_cache_info cache;
    const struct clock_source_info *clk = clock_info();
    mm_get_summary(&mm);
    cpu_cache_info(&cache);
    kprintf("memory: %llu MiB RAM in %u firmware regions, %llu KiB EFI runtime kept mapped\n",
            (unsigned long long)mm.ram_bytes >> 20, mm.nb_regions,
            (unsigned long long)mm.runtime_bytes >> 10);
    kprintf("arena: %llu MiB at %016llx, mapped by %u x 2 MiB pages\n",
            (unsigned long long)kbi->arena_bytes >> 20, (unsigned long long)kbi->arena_phys,
            mm.arena_2m_pages);
    kprintf("cache: LLC L%u %u KiB, line %u bytes (%s)\n", cache.llc_level,
            cache.llc_bytes >> 10, cache.line_bytes, cache.source);
    kprintf("tsc: %llu.%03llu MHz (%s, calibrated in %u us)\n",
            (unsigned long long)(clk->tsc_hz / 1000000),
            (unsigned long long)(clk->tsc_hz / 1000 % 1000), clk->source, clk->calib_us);
    banner_pci_line();
    kprintf("serial: console on COM1, control channel on %s\n",
            console_has_control_channel() ? "COM2" : "COM1 (no COM2 wired)");
}

static void cmd_pci(const char *args)
{
    (void)args;
    for (int i = 0; i < nb_pci_devs; i++) {
        const struct pci_dev *d = &pci_devs[i];
        const char *nic = pci_nic_name(d->vendor, d->device);
        kprintf("%02x:%02x.%x %04x:%04x %-12s%s%s\n", d->bus, d->dev, d->fn, d->vendor,
                d->device, pci_class_name(d->class_code, d->subclass), nic ? " " : "",
                nic ? nic : "");
        for (int b = 0; b < 6; b++) {
            const struct pci_bar *bar = &d->bar[b];
            if (bar->size == 0)
                continue;
            kprintf("    BAR%d %s %016llx size 0x%llx%s%s\n", b, bar->is_io ? "io " : "mem",
                    (unsigned long long)bar->base, (unsigned long long)bar->size,
                    bar->is_64 ? " 64-bit" : "", bar->prefetchable ? " prefetchable" : "");
        }
    }
}

static void cmd_mem(const char *args)
{
    (void)args;
    mm_print_map();
}

static void cmd_stats(const char *args)
{
    while (*args == ' ')
        args++;
    if (args[0] == '\0')
        ports_print_stats();
    else if (args[0] == 'j' && args[1] == 's' && args[2] == 'o' && args[3] == 'n' &&
             (args[4] == '\0' || args[4] == ' '))
        ports_print_stats_json();
    else
        kprintf("stats: unknown argument '%s' (stats, or stats json)\n", args);
}

static void cmd_quit(const char *args)
{
    (void)args;
    kprintf("pktmetal: quit: stopping ports\n");
    ports_stop();
    kprintf("pktmetal: powering off\n");
    machine_shutdown();
}

/* Days since 1970-01-01 of a proleptic Gregorian date: count whole 400-year
 * eras (146097 days each) from 0000-03-01, then the day within the era,
 * with March as the first month so the leap day falls at a year's end. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Wall-clock nanoseconds (UTC: QEMU's RTC) at the instant clock_ns() reads
 * 0, from the GetTime() reading boot/ took and the TSC at that reading. The
 * capture timestamps are this plus clock_ns() (DESIGN.md, Boot step 4). */
static uint64_t wall_epoch_ns(const struct boot_info *bi)
{
    const struct boot_wallclock *w = &bi->wallclock;
    if (!w->valid)
        return 0;
    int64_t days = days_from_civil(w->year, w->month, w->day);
    uint64_t secs = (uint64_t)days * 86400ull + w->hour * 3600ull + w->minute * 60ull + w->second;
    uint64_t wall_ns = secs * 1000000000ull + w->nanosecond;
    return wall_ns - clock_tsc_to_ns(bi->tsc_at_wallclock - bi->tsc_at_entry);
}

/* Test-only directives (config.h): each exercises one failure path. */
static volatile int selftest_depth_limit = 1 << 30;   /* far past any stack */

static int __attribute__((noinline)) selftest_recurse(int depth)
{
    volatile char pad[256];
    pad[0] = (char)depth;
    if (depth >= selftest_depth_limit)
        return pad[0];
    return selftest_recurse(depth + 1) + pad[0];
}

static void __attribute__((noinline)) run_selftests(const struct config *cfg)
{
    if (cfg->selftest_wait_ms != 0) {
        kprintf("SELFTEST-WAIT-BEGIN %u ms\n", cfg->selftest_wait_ms);
        clock_delay_ns((uint64_t)cfg->selftest_wait_ms * 1000000ull);
        kprintf("SELFTEST-WAIT-END\n");
    }
    switch (cfg->selftest_fault) {
    case SELFTEST_FAULT_PAGE:
        kprintf("selftest: reading unmapped address 0x7f0000000000\n");
        (void)*(volatile uint64_t *)(uintptr_t)0x7f0000000000ull;
        break;
    case SELFTEST_FAULT_STACK:
        kprintf("selftest: recursing until the kernel stack overflows\n");
        selftest_recurse(0);
        break;
    case SELFTEST_FAULT_DIVIDE: {
        kprintf("selftest: dividing by zero\n");
        /* In asm: the compiler may fold a C division it can prove odd. */
        uint32_t lo = 1, hi = 0, zero = 0;
        __asm__ __volatile__("divl %2" : "+a"(lo), "+d"(hi) : "r"(zero));
        break;
    }
    case SELFTEST_FAULT_PANIC:
        panic("selftest-fault panic requested by pktmetal.conf");
    case SELFTEST_FAULT_NONE:
        break;
    }
}

/* 1 ms: typing feels immediate and a control line of a few KiB (a capture
 * filter) arrives in well under a second; an idle poll costs one port read. */
#define CONSOLE_POLL_NS 1000000ull

/* DESIGN.md, Hot path: poll every port, run each burst to completion; the
 * console and the statistics are looked at on TSC deadlines, not per packet. */
static void __attribute__((noreturn)) main_loop(const struct config *cfg)
{
    uint64_t interval_ns = (uint64_t)cfg->stats_interval_ms * 1000000ull;
    uint64_t console_tsc = clock_ns_to_tsc(CONSOLE_POLL_NS);
    uint64_t stats_tsc = clock_ns_to_tsc(interval_ns);
    uint64_t now = cpu_rdtsc();
    uint64_t next_console = now + console_tsc, next_stats = now + stats_tsc;
    kprintf("> ");
    for (;;) {
        idle_after_poll(ports_poll());
        now = cpu_rdtsc();
        if (now < next_console)
            continue;
        next_console = now + console_tsc;
        console_poll();
        ports_housekeeping(clock_ns());
        if (now >= next_stats) {
            next_stats = now + stats_tsc;
            ports_tick(interval_ns);
        }
    }
}

/* Runs on the kernel's own stack, with our page tables live. */
static void __attribute__((noreturn)) kernel_continue(void *arg)
{
    (void)arg;
    clock_init(acpi.has_pm_timer ? acpi.pm_timer_port : 0, acpi.pm_timer_32bit,
               kbi->tsc_at_entry);
    pci_walk();
    print_banner();
    char why[sizeof(kbi->config_error)];
    if (config_check_ports(&kbi->config, ports_nb_nics(pci_devs, nb_pci_devs), why,
                           sizeof(why)) < 0) {
        kprintf("%s\n", why);
        fail(EXIT_CONFIG, "bad configuration");
    }
    struct cpu_cache_info cache;
    cpu_cache_info(&cache);
    if (ports_init(&kbi->config, &pci_ops, pci_devs, nb_pci_devs,
                   (void *)(uintptr_t)kbi->arena_phys, kbi->arena_bytes, cache.llc_bytes,
                   wall_epoch_ns(kbi)) < 0)
        fail(EXIT_PLATFORM, "a NIC could not be brought up");
    idle_init(&kbi->config, acpi.lapic_base);
    console_set_commands(kernel_cmds);
    uint64_t ready_ns = clock_ns();
    kprintf("ready: %llu us from efi_main entry to ready (ExitBootServices took %u attempt%s)\n",
            (unsigned long long)ready_ns / 1000, kbi->ebs_attempts,
            kbi->ebs_attempts == 1 ? "" : "s");
    struct mm_summary mm;
    mm_get_summary(&mm);
    kprintf("footprint: image %llu KiB, kernel heap %llu of %llu KiB used (page tables %u "
            "pages), packet arena %llu MiB\n",
            (unsigned long long)kbi->image_bytes >> 10, (unsigned long long)mm.heap_used >> 10,
            (unsigned long long)mm.heap_bytes >> 10, mm.nb_table_pages,
            (unsigned long long)kbi->arena_bytes >> 20);
    run_selftests(&kbi->config);
    main_loop(&kbi->config);
}

void kernel_main(struct boot_info *bi)
{
    __asm__ __volatile__("cli");
    pio_write8(PIC1_DATA, 0xff);         /* mask both 8259s: we poll */
    pio_write8(PIC2_DATA, 0xff);
    kbi = bi;
    console_init();
    exit_init(bi->shutdown);
    trap_init(bi->image_base, bi->image_bytes);
    kprintf("\npktmetal %s\n", PKTMETAL_VERSION);

    uint64_t kstack_top, ist_tops[3];
    mm_stacks(bi, &kstack_top, ist_tops);
    cpu_init(ist_tops);
    report_config(bi);

    if (bi->rsdp_phys == 0)
        fail(EXIT_PLATFORM, "no ACPI 2.0 RSDP in the EFI configuration table");
    if (acpi_parse(bi->rsdp_phys, &acpi) < 0) {
        kprintf("acpi: %s\n", acpi_last_error());
        fail(EXIT_PLATFORM, "ACPI tables unusable");
    }
    if (mm_init(bi, &acpi) < 0)
        fail(EXIT_PLATFORM, "page tables could not be built");
    cpu_run_on_stack(kstack_top, kernel_continue, NULL);
}
