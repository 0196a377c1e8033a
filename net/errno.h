/*
 * Error numbers for the freestanding code (net/, kernel/, drivers/).
 *
 * The image has no libc, so it has no <errno.h>. Constructors and parsers
 * return 0 or a negative value from this list (STYLE.md, habit 8); the values
 * match Linux's so a host test can print them with strerror().
 */
#ifndef PKTMETAL_NET_ERRNO_H
#define PKTMETAL_NET_ERRNO_H

#define PM_ENOENT   2   /* no such entry (table, file, device) */
#define PM_EIO      5   /* device did not respond as its datasheet says */
#define PM_ENOMEM  12   /* out of memory or out of table space */
#define PM_EBUSY   16   /* resource already in use */
#define PM_EEXIST  17   /* entry already present */
#define PM_ENODEV  19   /* no such device */
#define PM_EINVAL  22   /* bad argument or malformed input */
#define PM_ENOSPC  28   /* ring or queue full */
#define PM_ERANGE  34   /* value out of range */
#define PM_ENOTSUP 95   /* feature the device or code does not support */
#define PM_ETIMEDOUT 110 /* a wait on the device timed out */

#endif
