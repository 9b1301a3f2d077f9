#!/usr/bin/env bash
# Plots //bench:compare's medians (tcp_medians.csv) with gnuplot: messages/s and server CPU per
# message against connections, one line per server, one panel per (message size, depth).
#
#   bench/plot_compare.sh tcp_medians.csv bench/results
#
# Writes msgs_vs_connections.png and cpu_per_msg_vs_connections.png into the directory.
set -euo pipefail
csv=$1
dir=$2
mkdir -p "$dir"
servers=$(tail -n +2 "$csv" | cut -d, -f1 | sort -u)
# Panels: the latency-bound case, then pipelined small, medium and large messages (those with data).
panels=()
for panel in "64 1" "64 16" "4096 16" "65536 16"; do
  set -- $panel
  if awk -F, -v s="$1" -v d="$2" '$2==s && $4==d {found=1} END {exit !found}' "$csv"; then
    panels+=("$panel")
  fi
done
if ((${#panels[@]} == 0)); then
  echo "plot_compare: no panel has data in $csv" >&2
  exit 0
fi
rows=$(((${#panels[@]} + 1) / 2))
cols=$((${#panels[@]} == 1 ? 1 : 2))

# Writes the gnuplot commands of one figure: column `col` of the CSV against connections.
figure() {
  local file=$1 col=$2 ylabel=$3 logy=$4
  echo "set terminal pngcairo size 1400,1000 font 'DejaVu Sans,11'"
  echo "set output '$dir/$file'"
  echo "set datafile separator ','"
  echo "set multiplot layout $rows,$cols title '$ylabel against connections (medians; loopback, server on one CPU, client on the other)'"
  echo "set logscale x 2; set xlabel 'connections'; set ylabel '$ylabel'; set grid"
  echo "set key top left font ',9'"
  if [[ $logy == 1 ]]; then echo "set logscale y"; else echo "unset logscale y"; fi
  for panel in "${panels[@]}"; do
    set -- $panel
    local size=$1 depth=$2 label
    if ((size >= 1024)); then label="$((size / 1024)) KiB"; else label="$size B"; fi
    echo "set title '$label messages, depth $depth'"
    local plot="plot" sep=""
    for s in $servers; do
      # Rows of this server and panel, sorted by connections.
      plot+="$sep \"< awk -F, '\$1==\\\"$s\\\" && \$2==$size && \$4==$depth' $csv | sort -t, -k3 -n\" using 3:$col with linespoints lw 2 title '$s'"
      sep=","
    done
    echo "$plot"
  done
  echo "unset multiplot"
}

figure msgs_vs_connections.png 5 "messages/s" 0 | gnuplot
figure cpu_per_msg_vs_connections.png 8 "server CPU us per message" 1 | gnuplot
