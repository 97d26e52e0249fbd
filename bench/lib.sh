# Helpers shared by the bench scripts (sourced, not run).
now() { date +%s%N; }
# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# milliseconds a command takes; a failing command aborts the bench
time_ms() { local s e; s=$(now); "$@" >/dev/null 2>&1 || { echo "bench: command failed: $*" >&2; exit 1; }; e=$(now); echo $(((e - s) / 1000000)); }
# a/b as "1.23x"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
