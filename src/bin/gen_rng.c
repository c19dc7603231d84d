/*-------------------------------------------------------------------------
 *
 * gen_rng.c
 *	  mirai_gen's PRNG: splitmix64 seeding xoshiro256**, unbiased bounded
 *	  draws, and exponential intervals in integer fixed point, so that the
 *	  same seed gives the same numbers on every machine.
 *
 * src/bin/gen_rng.c
 *
 *-------------------------------------------------------------------------
 */
#include "gen.h"

/* ---------------------------------------------------------------------
 * PRNG: splitmix64 to seed xoshiro256**.
 * ---------------------------------------------------------------------
 */

/* One splitmix64 step. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z;

	*x += UINT64_C(0x9E3779B97F4A7C15);
	z = *x;
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Seed the generator state from a 64-bit seed. */
void
rng_seed(Rng *r, uint64_t seed)
{
	uint64_t	x = seed;
	int			i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

/* Rotate left. */
static uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits (xoshiro256**). */
uint64_t
rng_next(Rng *r)
{
	uint64_t   *s = r->s;
	uint64_t	result = rotl64(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Next 32 random bits. */
uint32_t
rng_u32(Rng *r)
{
	return (uint32_t) (rng_next(r) >> 32);
}

/* Uniform integer in [0, n), n >= 1, without bias (Lemire's method). */
uint32_t
rng_below(Rng *r, uint32_t n)
{
	uint64_t	m;
	uint32_t	l;
	uint32_t	t;

	m = (uint64_t) rng_u32(r) * n;
	l = (uint32_t) m;
	if (l < n)
	{
		t = (uint32_t) (UINT32_C(0) - n) % n;
		while (l < t)
		{
			m = (uint64_t) rng_u32(r) * n;
			l = (uint32_t) m;
		}
	}
	return (uint32_t) (m >> 32);
}

/* Uniform integer in [lo, hi], inclusive. */
uint32_t
rng_range(Rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

/* True with probability p / 2^32. */
int
rng_chance(Rng *r, uint64_t p)
{
	return (uint64_t) rng_u32(r) < p;
}

/* Fill a buffer with random bytes. */
void
rng_bytes(Rng *r, uint8_t *p, size_t n)
{
	size_t		i;
	uint64_t	v = 0;

	for (i = 0; i < n; i++)
	{
		if (i % 8 == 0)
			v = rng_next(r);
		p[i] = (uint8_t) (v >> (8 * (i % 8)));
	}
}

/* (a * b) >> 32 computed exactly in 64-bit pieces (result must fit). */
static uint64_t
mul_shr32(uint64_t a, uint64_t b)
{
	uint64_t	a_hi = a >> 32;
	uint64_t	a_lo = a & UINT64_C(0xFFFFFFFF);
	uint64_t	b_hi = b >> 32;
	uint64_t	b_lo = b & UINT64_C(0xFFFFFFFF);

	return ((a_hi * b_hi) << 32) + a_hi * b_lo + a_lo * b_hi +
		((a_lo * b_lo) >> 32);
}

/*
 * -ln(U) for U uniform in (0,1), in Q32 fixed point, using integers only so
 * that the result is identical on every machine.  U = x / 2^64 is written as
 * f * 2^-k with f in [0.5, 1); -ln U = k ln 2 - ln f, and -ln f is
 * 2 atanh(z) with z = (1 - f) / (1 + f) <= 1/3, summed as a series.
 */
static uint64_t
rng_neglog_q32(Rng *r)
{
	uint64_t	x;
	uint64_t	f32;
	uint64_t	z;
	uint64_t	z2;
	uint64_t	term;
	uint64_t	sum = 0;
	uint64_t	k = 0;
	uint64_t	i;

	do
	{
		x = rng_next(r);
	} while (x == 0);
	while ((x & UINT64_C(0x8000000000000000)) == 0)
	{
		x <<= 1;
		k++;
	}
	f32 = x >> 32;				/* f in Q32, in [2^31, 2^32) */
	z = ((UINT64_C(0x100000000) - f32) << 32) / (UINT64_C(0x100000000) + f32);
	z2 = (z * z) >> 32;
	term = z;
	for (i = 1; term != 0; i += 2)
	{
		sum += term / i;
		term = (term * z2) >> 32;
	}
	return k * LN2_Q32 + 2 * sum;
}

/* Exponentially distributed interval in nanoseconds with the given mean. */
uint64_t
rng_exp_ns(Rng *r, uint64_t mean_ns)
{
	return mul_shr32(rng_neglog_q32(r), mean_ns);
}

/* Uniform integer in [0, n), n >= 1, 64-bit, without bias. */
uint64_t
rng_below64(Rng *r, uint64_t n)
{
	uint64_t	rem = (UINT64_MAX % n + 1) % n;	/* 2^64 mod n */
	uint64_t	x;

	do
	{
		x = rng_next(r);
	} while (rem != 0 && x > UINT64_MAX - rem);
	return x % n;
}

