"""The layouts the pointer checkers know, by the name of s3mirror's --layout preset."""
import elasticsearch
import kopia
import pgbackrest
import velero
import walg

LAYOUTS = {
    "elasticsearch": elasticsearch,
    "kopia": kopia,
    "velero": velero,
    "wal-g": walg,
    "pgbackrest": pgbackrest,
}
