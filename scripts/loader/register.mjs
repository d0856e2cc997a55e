// `node --import ./scripts/loader/register.mjs`: tsx (TypeScript sources), then the hooks that
// keep binaryen away from it (plain-binaryen.mjs says why). Test and bench processes start so.
import 'tsx';
import { register } from 'node:module';

register('./plain-binaryen.mjs', import.meta.url);
