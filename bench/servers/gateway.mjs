// @httpauth/gateway from a configuration object (argv[2], JSON), as `httpauth-gateway` builds it.
import { createGateway, validateConfig } from '@httpauth/gateway';

const { config, baseDir } = JSON.parse(process.argv[2]);
const gateway = createGateway(validateConfig(config, {}, baseDir));
const { port } = await gateway.listen();
console.log(JSON.stringify({ port }));
process.on('SIGTERM', () => gateway.close().then(() => process.exit(0)));
