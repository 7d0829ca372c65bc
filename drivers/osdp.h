/*
 * osdp.h — the OSDP control-panel driver's bus setup and key installation,
 * for the daemon (gateway.conf `osdp-bus` blocks, `gatectl osdp`). Gate
 * hardware then names a device on a bus through the driver's args:
 *
 *	reader  osdp "BUS:ADDR [reader=N] [pin] [class=secure]";
 *	sensors osdp "BUS:ADDR [door=N] [rex=N] [passage=N] [passage-out=N]
 *	              [tamper=N]";		(N: input number, !N active low)
 *	lock    osdp "BUS:ADDR [out=N] [invert]";
 */
#ifndef DRIVERS_OSDP_H
#define DRIVERS_OSDP_H

#include <stddef.h>
#include <stdint.h>

#define OSDP_BUS_NAME_MAX	32

struct osdp_bus_conf {
	char		name[OSDP_BUS_NAME_MAX];
	char		device[256];
	uint32_t	baud;		/* 9600 .. 230400 */
	char		keys[512];	/* key file; "" with secure off */
	int		secure;		/* 1: every device must use SC */
	uint32_t	poll_ms;	/* per device; 0: 50 */
};

/* Open the serial device and read the key file (refused if its
 * permissions are loose). 0, or -1 with why in err. */
int	osdp_bus_add(const struct osdp_bus_conf *, char *err, size_t errlen);
/* Close every bus (instances must be closed first). */
void	osdp_bus_close_all(void);
/* Arm key installation on BUS:ADDR: within 30 s the next handshake uses the
 * default install key SCBK-D (the device must be in install mode), sends a
 * fresh random SCBK with KEYSET, writes it to the key file first, and
 * restarts the secure channel with it. The outcome comes back as a
 * DRIVER_EV_NOTICE carrying tag on the device's instances. 0 armed, -1
 * with why in err. */
int	osdp_key_install(const char *bus, unsigned addr, uint32_t tag,
	    char *err, size_t errlen);

#endif
