/*
 * Adaptive idle; see idle.h. The halt is the classic race-free pair
 * "sti; hlt": sti takes effect after the next instruction, so an interrupt
 * that arrives in between still ends the hlt instead of being lost.
 *
 * Wake on receive adds a second race, between the last empty poll and the
 * halt: a frame landing there must not sleep until the timer. So each port
 * is armed first, and arming looks at its RX ring once more after asking
 * for the interrupt (netdev rx_wake): either the device sees the request
 * and interrupts, or the driver sees the frame and the halt is skipped.
 * An interrupt that comes anyway after the ports are disarmed stays pending
 * in the local APIC and merely ends the next halt early.
 */
#include "kernel/idle.h"

#include "kernel/apic.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/cpu.h"

static bool enabled;
static uint32_t polls_before_halt, min_us, max_us, halt_us;
static uint32_t empty_polls;
static bool flowing;                  /* the last poll found frames */
static struct idle_stats stats;

static struct netdev *ports[IDLE_PORTS_MAX];
static unsigned nb_ports;
static bool wake_on_rx;               /* every port can end a halt */
static uint32_t wake_max_us;
static uint16_t batch_frames;         /* idle-batch K; 0: off */
static uint32_t batch_us;

void idle_rx_wake_msi(const struct config *cfg, uint64_t *addr, uint32_t *data)
{
    if (cfg->idle_halt && cfg->idle_wake_max_us != 0) {
        apic_msi_message(APIC_RX_WAKE_VECTOR, addr, data);
    } else {
        *addr = 0;
        *data = 0;
    }
}

void idle_watch_port(struct netdev *dev)
{
    if (nb_ports < IDLE_PORTS_MAX)
        ports[nb_ports++] = dev;
}

/* Wake on receive needs every port: one that cannot interrupt would leave
 * its frames to the timer. Asking each to disarm also tells which can. */
static bool all_ports_can_wake(void)
{
    if (nb_ports == 0) {
        kprintf("idle: no forwarding port to wake on\n");
        return false;
    }
    for (unsigned i = 0; i < nb_ports; i++) {
        if (netdev_rx_wake(ports[i], 0) != NETDEV_WAKE_OFF) {
            kprintf("idle: port %u (%s) cannot wake the CPU on receive\n", ports[i]->port_id,
                    ports[i]->driver);
            return false;
        }
    }
    return true;
}

bool idle_init(const struct config *cfg, uint64_t lapic_base)
{
    if (!cfg->idle_halt) {
        kprintf("idle: busy polling (idle-halt off)\n");
        return false;
    }
    int rc = apic_init(lapic_base, IOAPIC_DEFAULT_BASE);
    if (rc < 0) {
        kprintf("idle: local APIC unusable (error %d): busy polling\n", rc);
        return false;
    }
    enabled = true;
    polls_before_halt = cfg->idle_polls;
    min_us = cfg->idle_min_us;
    max_us = cfg->idle_max_us;
    halt_us = min_us;
    wake_max_us = cfg->idle_wake_max_us;
    wake_on_rx = wake_max_us != 0 && all_ports_can_wake();
    /* Timer-only batch halts measured worse on e1000 (its TX work runs in
     * the vCPU anyway): the batch wake needs ports that count frames. */
    batch_frames = wake_on_rx ? (uint16_t)cfg->idle_batch : 0;
    batch_us = cfg->idle_batch_us;
    if (wake_on_rx)
        kprintf("idle: halt after %u empty polls, up to %u us, woken by a frame on any port "
                "(MSI-X vector %u) or the APIC timer (%llu kHz)\n", polls_before_halt,
                wake_max_us, APIC_RX_WAKE_VECTOR,
                (unsigned long long)apic_timer_hz() / 1000);
    else
        kprintf("idle: halt after %u empty polls, %u..%u us, APIC timer %llu kHz%s\n",
                polls_before_halt, min_us, max_us, (unsigned long long)apic_timer_hz() / 1000,
                wake_max_us == 0 ? " (idle-wake-max-us 0: the timer only)" : "");
    if (batch_frames != 0)
        kprintf("idle: after a poll of 1..%u frames, halt until %u wait on a port or %u us "
                "pass\n", batch_frames - 1u, batch_frames, batch_us);
    else if (cfg->idle_batch != 0)
        kprintf("idle: idle-batch %u ignored: it needs every port to wake the CPU on receive\n",
                (unsigned)cfg->idle_batch);
    return true;
}

static void halt_for(uint32_t us)
{
    uint64_t t0 = cpu_rdtsc();
    apic_timer_oneshot_us(us);
    __asm__ __volatile__("sti; hlt; cli" ::: "memory");
    /* Woken by something else: disarm the timer, or its interrupt would
     * end the next halt at once. */
    if (apic_timer_cancel())
        stats.woken_early++;
    stats.halts++;
    stats.halted_ns += clock_tsc_to_ns(cpu_rdtsc() - t0);
}

/* Timer only: halts double from idle-min-us to idle-max-us. */
static void halt_backing_off(void)
{
    halt_for(halt_us);
    halt_us = halt_us * 2 > max_us ? max_us : halt_us * 2;
}

/* Arms every port to interrupt once nb_frames wait on it, halts up to us
 * unless one already has them, disarms. Returns the worst answer: ARMED
 * (it halted), PENDING (the frames are there: poll at once) or NONE (a port
 * stopped, at quit). */
static enum netdev_wake halt_until_rx(uint16_t nb_frames, uint32_t us)
{
    enum netdev_wake worst = NETDEV_WAKE_ARMED;

    for (unsigned i = 0; i < nb_ports && worst == NETDEV_WAKE_ARMED; i++)
        worst = netdev_rx_wake(ports[i], nb_frames);
    if (worst == NETDEV_WAKE_ARMED) {
        halt_for(us);
        stats.batch_halts += nb_frames > 1;
    }
    for (unsigned i = 0; i < nb_ports; i++)
        netdev_rx_wake(ports[i], 0);
    if (worst == NETDEV_WAKE_PENDING)
        stats.wake_races++;
    return worst;
}

/*
 * idle-batch: traffic flows, but the last poll found fewer than batch_frames
 * frames, or none right after one that found some: the rings are nearly
 * drained. Rather than spin on them (taking the host core QEMU's I/O thread
 * needs to bring the next frames in), halt until a port holds a batch
 * again or batch_us has passed, whichever is first. batch_frames is 0
 * (off) unless halting is enabled with wake on receive (idle_init).
 */
void idle_after_poll(unsigned nb_packets)
{
    bool was_flowing = flowing;

    flowing = nb_packets != 0;
    if (nb_packets != 0) {
        empty_polls = 0;
        halt_us = min_us;
        if (nb_packets < batch_frames)
            halt_until_rx(batch_frames, batch_us);
        return;
    }
    /* One batch halt after the last frame; if that brings nothing, the
     * traffic has stopped and the empty polls count towards idling. */
    if (was_flowing && batch_frames != 0) {
        halt_until_rx(batch_frames, batch_us);
        return;
    }
    if (!enabled || ++empty_polls < polls_before_halt) {
        cpu_pause();
        return;
    }
    if (!wake_on_rx)
        halt_backing_off();
    else if (halt_until_rx(1, wake_max_us) == NETDEV_WAKE_NONE)
        halt_backing_off();          /* a port stopped (quit): the timer alone */
}

void idle_get_stats(struct idle_stats *out)
{
    *out = stats;
}
