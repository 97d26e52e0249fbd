FROM alpine:3.19
ENV NAME=me

RUN <<EOF
set -e
echo "hello $NAME"
EOF

RUN <<-'SCRIPT' bash
	echo "literal $NAME"
	SCRIPT

RUN --mount=type=cache,target=/var/cache/apk python3 <<PY
print("hi")
PY

COPY <<conf.ini <<-"other.txt" /etc/app/
[main]
key = $NAME
conf.ini
		indented
	other.txt

RUN ["<<EOF"]
RUN echo "<<NOTHEREDOC"
