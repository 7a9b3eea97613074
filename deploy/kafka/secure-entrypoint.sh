#!/bin/bash
# The kafka service's entrypoint under docker-compose.secure.yml: the broker's configuration with its SCRAM
# password, storage formatted once with every principal's SCRAM user (Kafka creates SCRAM users of a KRaft
# cluster at format time, before any listener could authenticate an admin), an admin client config for the
# healthcheck, then the broker. Certificates and passwords come from the kafka-secrets job (/pki).
set -euo pipefail
pki=/pki
conf=/tmp/server.properties
password() { tr -d '[:space:]' < "$pki/secrets/$1.password"; }
sed "s|@BROKER_PASSWORD@|$(password broker)|" /etc/kafka/vigil/server.secure.properties > "$conf"
chmod 600 "$conf"
cat > /tmp/admin.properties <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(password admin)";
ssl.truststore.type=PEM
ssl.truststore.location=$pki/tls/ca.pem
PROPS
chmod 600 /tmp/admin.properties
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  scram=()
  for user in admin broker worker producer relay; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(password "$user")]")
  done
  /opt/kafka/bin/kafka-storage.sh format -t "$CLUSTER_ID" -c "$conf" "${scram[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
