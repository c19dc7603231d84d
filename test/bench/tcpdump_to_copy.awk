# The "before mirai_load" pipeline of README's loader benchmark:
#   tcpdump -tt -n -r FILE | awk -f tcpdump_to_copy.awk | psql -c "COPY t(...) FROM STDIN"
# Turns tcpdump's one-line IPv4 TCP output into COPY text rows of
# (ts, src, dst, sport, dport, seq, flags, ttl); tcpdump without -v prints
# no TTL, so ttl is \N.  Other lines (UDP, ICMP, IPv6, ARP) are dropped.
# strftime runs once per second of capture time, not once per line.
BEGIN { OFS = "\t"; fl["F"] = 1; fl["S"] = 2; fl["R"] = 4; fl["P"] = 8; fl["."] = 16; fl["U"] = 32; fl["E"] = 64; fl["W"] = 128 }
$2 == "IP" && $6 == "Flags" {
	n = split($3, a, ".")
	if (n != 5) next
	split($5, b, ".")
	sub(":", "", b[5])
	split($1, t, ".")
	f = $7; gsub(/[\[\],]/, "", f)
	v = 0
	for (i = 1; i <= length(f); i++) v += fl[substr(f, i, 1)]
	seq = "\\N"
	if ($8 == "seq") { seq = $9; sub(",", "", seq); sub(":.*", "", seq) }
	if (t[1] != sec) { sec = t[1]; day = strftime("%Y-%m-%d %H:%M:%S", sec, 1) }
	print day "." t[2] "+00", a[1] "." a[2] "." a[3] "." a[4], b[1] "." b[2] "." b[3] "." b[4], a[5], b[5], seq, v, "\\N"
}
