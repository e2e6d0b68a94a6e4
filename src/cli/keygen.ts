import { curveKeyPair } from 'zeromq';

/** `entangled keygen`: a new CURVE key pair as YAML, ready for security.curve or a key file. */
export function runKeygen(): number {
  const { publicKey, secretKey } = curveKeyPair();
  process.stdout.write(`publicKey: "${publicKey}"\nsecretKey: "${secretKey}"\n`);
  return 0;
}
