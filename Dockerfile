# CHKV image: the three static binaries that `make build` puts in bin/
# (CGO_ENABLED=0), on an empty base. Nothing is pulled: build it with
# `make image` (which runs `make build` first), offline.
#
#   docker run --rm chkv:dev datanode --help
#
# Every flag can also come from a CHKV_* environment variable or from a
# YAML file named by --config (mount it, e.g. at /etc/chkv/).
FROM scratch
COPY bin/datanode bin/namenode bin/chkvctl /usr/local/bin/
ENV PATH=/usr/local/bin
# Run as an unprivileged user; the binaries need no file system access.
USER 65532:65532
# RESP, DataNode gRPC, NameNode gRPC, NameNode HTTP, DataNode HTTP.
EXPOSE 10100 10110 10101 10180 10190
ENTRYPOINT []
CMD ["datanode", "--help"]
