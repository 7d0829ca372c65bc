/*
 * registry.c — every compiled-in driver, looked up by the name written in
 * gateway.conf; a misspelt name gets the nearest registered one. Also the
 * checks every event passes before the core trusts it.
 */
#include <stdio.h>
#include <string.h>

#include "drivers/driver.h"

static const struct driver *const registry[] = {
	&driver_sim,
	&driver_nfc,
	&driver_osdp,
	&driver_gpio,
};
#define NDRIVERS	(sizeof(registry) / sizeof(registry[0]))

const struct driver *
driver_find(const char *name)
{
	for (size_t i = 0; i < NDRIVERS; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

size_t
driver_count(void)
{
	return NDRIVERS;
}

const struct driver *
driver_at(size_t i)
{
	return i < NDRIVERS ? registry[i] : NULL;
}

/* Levenshtein distance, capped: names are short and we only care if close. */
static size_t
registry_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[33], cur[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			cur[j] = d;
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

const char *
driver_suggest(const char *name)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX, len = strlen(name);
	/* a third of the name may be wrong, at least one edit */
	size_t limit = len / 3 > 0 ? len / 3 + 1 : 1;

	for (size_t i = 0; i < NDRIVERS; i++) {
		size_t d = registry_distance(name, registry[i]->name);
		if (d < bestd) {
			bestd = d;
			best = registry[i]->name;
		}
	}
	return bestd <= limit ? best : NULL;
}

int
driver_event_check(const struct driver_event *ev)
{
	switch (ev->type) {
	case DRIVER_EV_TAP:
		if (ev->reader > 1 || ev->id_len == 0 ||
		    ev->id_len > DRIVER_ID_MAX || ev->pin_len > DRIVER_PIN_MAX)
			return -1;
		if (ev->id_format == DRIVER_ID_TEXT) {
			for (size_t i = 0; i < ev->id_len; i++)
				if (ev->id[i] <= 0x20 || ev->id[i] >= 0x7f ||
				    ev->id[i] == '"' || ev->id[i] == '\\')
					return -1;
		} else if (ev->id_format != DRIVER_ID_UID)
			return -1;
		for (size_t i = 0; i < ev->pin_len; i++)
			if (ev->pin[i] < '0' || ev->pin[i] > '9')
				return -1;
		if (ev->cls > 2 || ev->ats_len > DRIVER_ATS_MAX)
			return -1;
		return 0;
	case DRIVER_EV_SENSOR:
		return ev->sensor >= DRIVER_DOOR_OPEN &&
		    ev->sensor <= DRIVER_TAMPER ? 0 : -1;
	case DRIVER_EV_INPUT:
		return ev->input == DRIVER_IN_FIRE_ALARM && ev->value <= 1 ?
		    0 : -1;
	case DRIVER_EV_OFFLINE:
	case DRIVER_EV_ONLINE:
		return 0;
	case DRIVER_EV_ALARM:
	case DRIVER_EV_NOTICE:
		if (memchr(ev->text, '\0', sizeof(ev->text)) == NULL ||
		    ev->value > 1)
			return -1;
		for (const char *p = ev->text; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				return -1;
		if (ev->type == DRIVER_EV_ALARM) {
			/* the alarm's name: [a-z0-9-], 1..31 bytes */
			if (ev->id_format != DRIVER_ID_TEXT || ev->id_len == 0 ||
			    ev->id_len > 31)
				return -1;
			for (size_t i = 0; i < ev->id_len; i++)
				if (!((ev->id[i] >= 'a' && ev->id[i] <= 'z') ||
				    (ev->id[i] >= '0' && ev->id[i] <= '9') ||
				    ev->id[i] == '-'))
					return -1;
		}
		return 0;
	default:
		return -1;
	}
}

int
driver_event_id(const struct driver_event *ev, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = ev->id_len > DRIVER_ID_MAX ? DRIVER_ID_MAX : ev->id_len;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (ev->id_format == DRIVER_ID_TEXT) {
		if (n + 1 > len)
			return -1;
		memcpy(buf, ev->id, n);
		buf[n] = '\0';
		return 0;
	}
	if (2 * n + 1 > len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = hex[ev->id[i] >> 4];
		buf[2 * i + 1] = hex[ev->id[i] & 0xf];
	}
	buf[2 * n] = '\0';
	return 0;
}
