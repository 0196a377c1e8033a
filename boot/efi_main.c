/*
 * efi_main: the only code that talks to the firmware's boot services
 * (DESIGN.md, Boot step 1).
 *
 * In order: note the TSC, read pktmetal.conf from the volume we were loaded
 * from, find the ACPI 2.0 RSDP in the configuration table, allocate the
 * kernel memory block and the packet arena (both 2 MiB aligned, never
 * touched here: zeroing 64 MiB costs ~0.3 s under TCG), read the wall clock,
 * take the memory map and call ExitBootServices, retrying with a fresh map
 * when the key went stale. Then kernel_main() owns the machine; the only
 * firmware service left is ResetSystem, reached through boot_info.shutdown.
 *
 * Nothing is printed here: each firmware Print costs 1-1.6 ms (TRAPS.md);
 * the kernel reports everything on its own serial console.
 */
#include <efi.h>

#include "kernel/boot_info.h"
#include "net/config.h"
#include "net/errno.h"
#include "net/fmt.h"

#define PAGE_4K        4096ull
#define PAGE_2M        (2ull << 20)
#define EBS_MAX_TRIES  8

/* boot/'s part of kmem: boot_info | config text | raw map | converted map. */
#define BOOT_INFO_BYTES    ((sizeof(struct boot_info) + 4095) & ~(size_t)4095)
#define BOOT_RAW_MAP_BYTES (96u << 10)
_Static_assert(((sizeof(struct boot_info) + 4095) & ~4095ul) + BOOT_CONFIG_MAX +
               (96u << 10) + (16u << 10) <= KMEM_BOOT_BYTES,
               "boot_info, config text and memory maps fit boot's part of kmem");

static EFI_RUNTIME_SERVICES *boot_rt;

static inline uint64_t boot_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static void boot_shutdown(void)
{
    uefi_call_wrapper(boot_rt->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
}

static int guid_equal(const EFI_GUID *a, const EFI_GUID *b)
{
    const uint8_t *pa = (const uint8_t *)a, *pb = (const uint8_t *)b;
    for (unsigned i = 0; i < sizeof(EFI_GUID); i++)
        if (pa[i] != pb[i])
            return 0;
    return 1;
}

static uint64_t find_rsdp(EFI_SYSTEM_TABLE *st)
{
    EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
    for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
        EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
        if (guid_equal(&t->VendorGuid, &acpi20))
            return (uint64_t)(uintptr_t)t->VendorTable;
    }
    return 0;
}

/* Allocates `bytes` aligned to 2 MiB: over-allocate by one 2 MiB page, then
 * round up. The slack stays allocated; nothing else would use it anyway. */
static uint64_t alloc_aligned_2m(EFI_BOOT_SERVICES *bs, uint64_t bytes)
{
    EFI_PHYSICAL_ADDRESS addr = 0;
    UINTN pages = (bytes + PAGE_2M) / PAGE_4K;
    EFI_STATUS s = uefi_call_wrapper(bs->AllocatePages, 4, AllocateAnyPages,
                                     EfiLoaderData, pages, &addr);
    if (EFI_ERROR(s))
        return 0;
    return (addr + PAGE_2M - 1) & ~(PAGE_2M - 1);
}

/* Reads \pktmetal.conf from the boot volume into buf. Returns bytes read, or
 * -1 when the file is absent (defaults apply), -2 on a read error. */
static long read_config(EFI_BOOT_SERVICES *bs, EFI_HANDLE image, char *buf, UINTN cap)
{
    EFI_GUID li_guid = LOADED_IMAGE_PROTOCOL;
    EFI_GUID fs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
    EFI_LOADED_IMAGE *li;
    EFI_FILE_IO_INTERFACE *fs;
    EFI_FILE_HANDLE root, file;

    if (EFI_ERROR(uefi_call_wrapper(bs->HandleProtocol, 3, image, &li_guid, (void **)&li)))
        return -1;
    if (EFI_ERROR(uefi_call_wrapper(bs->HandleProtocol, 3, li->DeviceHandle, &fs_guid,
                                    (void **)&fs)))
        return -1;
    if (EFI_ERROR(uefi_call_wrapper(fs->OpenVolume, 2, fs, &root)))
        return -1;
    EFI_STATUS s = uefi_call_wrapper(root->Open, 5, root, &file, L"\\pktmetal.conf",
                                     EFI_FILE_MODE_READ, 0);
    if (EFI_ERROR(s)) {
        uefi_call_wrapper(root->Close, 1, root);
        return -1;
    }
    UINTN len = cap;
    s = uefi_call_wrapper(file->Read, 3, file, &len, buf);
    uefi_call_wrapper(file->Close, 1, file);
    uefi_call_wrapper(root->Close, 1, root);
    return EFI_ERROR(s) ? -2 : (long)len;
}

static void load_config(struct boot_info *bi, EFI_BOOT_SERVICES *bs, EFI_HANDLE image,
                        char *text)
{
    config_defaults(&bi->config);
    long len = read_config(bs, image, text, BOOT_CONFIG_MAX);
    bi->config_found = len >= 0;
    if (len == -2) {
        bi->config_status = -PM_EIO;
        fmt_snprintf(bi->config_error, sizeof(bi->config_error),
                     "config:0: pktmetal.conf exists but could not be read");
    } else if (len >= (long)BOOT_CONFIG_MAX) {
        bi->config_status = -PM_EINVAL;
        fmt_snprintf(bi->config_error, sizeof(bi->config_error),
                     "config:0: pktmetal.conf is larger than %u bytes", BOOT_CONFIG_MAX - 1);
    } else if (len >= 0) {
        bi->config_status = config_parse(&bi->config, text, (size_t)len, bi->config_error,
                                         sizeof(bi->config_error));
    }
    /* A bad file still boots far enough to report it on serial: keep the
     * arena at its default so the allocation cannot be the thing that fails. */
    if (bi->config_status < 0)
        config_defaults(&bi->config);
}

static enum boot_mem_kind mem_kind(UINT32 type)
{
    switch (type) {
    case EfiLoaderCode: case EfiLoaderData:
    case EfiBootServicesCode: case EfiBootServicesData:
    case EfiConventionalMemory:
        return BOOT_MEM_RAM;
    case EfiRuntimeServicesCode: case EfiRuntimeServicesData:
        return BOOT_MEM_RUNTIME;
    case EfiACPIReclaimMemory: case EfiACPIMemoryNVS:
        return BOOT_MEM_ACPI;
    case EfiMemoryMappedIO: case EfiMemoryMappedIOPortSpace:
        return BOOT_MEM_MMIO;
    default:
        return BOOT_MEM_RESERVED;
    }
}

/* Converts the firmware's map (descriptor stride desc_size, which may exceed
 * sizeof(EFI_MEMORY_DESCRIPTOR)) into boot_mem_regions, in address order. */
static void convert_map(struct boot_info *bi, const uint8_t *map, UINTN map_bytes,
                        UINTN desc_size, struct boot_mem_region *out, unsigned cap)
{
    unsigned n = 0;
    for (UINTN off = 0; off + desc_size <= map_bytes && n < cap; off += desc_size) {
        const EFI_MEMORY_DESCRIPTOR *d = (const EFI_MEMORY_DESCRIPTOR *)(map + off);
        out[n].phys = d->PhysicalStart;
        out[n].bytes = d->NumberOfPages * PAGE_4K;
        out[n].efi_type = d->Type;
        out[n].kind = mem_kind(d->Type);
        n++;
    }
    for (unsigned i = 1; i < n; i++) {           /* insertion sort: maps are short */
        struct boot_mem_region r = out[i];
        unsigned j = i;
        for (; j > 0 && out[j - 1].phys > r.phys; j--)
            out[j] = out[j - 1];
        out[j] = r;
    }
    bi->mem = out;
    bi->nb_mem = n;
}

static void read_wallclock(struct boot_info *bi, EFI_RUNTIME_SERVICES *rt)
{
    EFI_TIME t;
    bi->tsc_at_wallclock = boot_rdtsc();
    if (EFI_ERROR(uefi_call_wrapper(rt->GetTime, 2, &t, NULL)))
        return;
    bi->wallclock = (struct boot_wallclock){
        .year = t.Year, .month = t.Month, .day = t.Day, .hour = t.Hour,
        .minute = t.Minute, .second = t.Second, .nanosecond = t.Nanosecond, .valid = true,
    };
}

/* Takes the memory map into map_buf (no allocation: that would change the
 * map) and exits boot services; between attempts only GetMemoryMap is called
 * (UEFI 2.9, 7.4 ExitBootServices; TRAPS.md). */
static EFI_STATUS exit_boot_services(EFI_BOOT_SERVICES *bs, EFI_HANDLE image,
                                     uint8_t *map_buf, UINTN map_cap, UINTN *map_bytes,
                                     UINTN *desc_size, unsigned *attempts)
{
    EFI_STATUS s = EFI_INVALID_PARAMETER;
    for (*attempts = 1; *attempts <= EBS_MAX_TRIES; (*attempts)++) {
        UINTN key;
        UINT32 desc_version;
        *map_bytes = map_cap;
        s = uefi_call_wrapper(bs->GetMemoryMap, 5, map_bytes,
                              (EFI_MEMORY_DESCRIPTOR *)map_buf, &key, desc_size, &desc_version);
        if (EFI_ERROR(s))
            return s;
        s = uefi_call_wrapper(bs->ExitBootServices, 2, image, key);
        if (!EFI_ERROR(s))
            return s;
    }
    return s;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
    uint64_t tsc_entry = boot_rdtsc();
    EFI_BOOT_SERVICES *bs = st->BootServices;
    boot_rt = st->RuntimeServices;

    uint64_t kmem = alloc_aligned_2m(bs, KMEM_BYTES);
    if (kmem == 0)
        return EFI_OUT_OF_RESOURCES;

    /* Boot's part of kmem: boot_info, config text, raw and converted map.
     * Only the small header is cleared; the rest is written before read. */
    uint8_t *kb = (uint8_t *)(uintptr_t)kmem;
    struct boot_info *bi = (struct boot_info *)kb;
    char *config_text = (char *)(kb + BOOT_INFO_BYTES);
    uint8_t *raw_map = kb + BOOT_INFO_BYTES + BOOT_CONFIG_MAX;
    const UINTN raw_map_cap = BOOT_RAW_MAP_BYTES;
    struct boot_mem_region *regions = (struct boot_mem_region *)(raw_map + raw_map_cap);
    unsigned regions_cap = (unsigned)((kb + KMEM_BOOT_BYTES - (uint8_t *)regions) /
                                      sizeof(*regions));
    for (size_t i = 0; i < sizeof(*bi); i++)
        kb[i] = 0;

    bi->tsc_at_entry = tsc_entry;
    bi->kmem_phys = kmem;
    bi->kmem_bytes = KMEM_BYTES;
    bi->shutdown = boot_shutdown;

    EFI_GUID li_guid = LOADED_IMAGE_PROTOCOL;
    EFI_LOADED_IMAGE *li;
    if (!EFI_ERROR(uefi_call_wrapper(bs->HandleProtocol, 3, image, &li_guid, (void **)&li))) {
        bi->image_base = (uint64_t)(uintptr_t)li->ImageBase;
        bi->image_bytes = li->ImageSize;
    }

    load_config(bi, bs, image, config_text);
    bi->rsdp_phys = find_rsdp(st);

    bi->arena_bytes = (uint64_t)bi->config.arena_mb << 20;
    bi->arena_phys = alloc_aligned_2m(bs, bi->arena_bytes);
    if (bi->arena_phys == 0)
        return EFI_OUT_OF_RESOURCES;

    read_wallclock(bi, boot_rt);

    UINTN map_bytes, desc_size;
    EFI_STATUS s = exit_boot_services(bs, image, raw_map, raw_map_cap, &map_bytes,
                                      &desc_size, &bi->ebs_attempts);
    if (EFI_ERROR(s))
        return s;

    /* Boot services are gone: from here on, no firmware call but ResetSystem. */
    convert_map(bi, raw_map, map_bytes, desc_size, regions, regions_cap);
    kernel_main(bi);
}
