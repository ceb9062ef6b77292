import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { configDirPath } from '../../doors/lan/config-dir.js';
import { MAX_NAME_BYTES } from '../../doors/lan/connection-string.js';
import { terminalText } from '../../doors/lan/terminal-text.js';
import { TrustedPeerStore } from '../../doors/lan/trusted-peers.js';
import { whenWords } from '../time-words.js';
import { configDirOf, jsonOption, withConfigDir, type CommonLanOptions } from './lan-cli-support.js';

/** `pairgate peers list|remove`: the devices this one paired with over `pairgate lan`. */
export function registerPeersCommand(program: Command): void {
  const peers = program.command('peers').description('list or remove trusted peers (devices paired with `pairgate lan`)')
    .addHelpText('after', `
Exit code: 0 on success, 2 for a peer none matches (lan_unknown_peer) or
several match (lan_ambiguous_peer), a config folder that cannot be used
(lan_unsafe_config_dir, lan_config_dir_not_writable), a damaged peers.json
(lan_bad_peers_file) or one that cannot be read (lan_peers_file_unreadable), 1
when peers.json stays locked by another pairgate command (lan_peers_file_busy).`);

  withConfigDir(peers.command('list'))
    .description('list trusted peers, most recently seen first')
    .addOption(jsonOption)
    .addHelpText('after', `
Exit code: 0 when listed (none too), 2 for a config folder that is not safe
(lan_unsafe_config_dir), a damaged peers.json (lan_bad_peers_file) or one that
cannot be read (lan_peers_file_unreadable).`)
    .action((options: CommonLanOptions) => {
      // Listing makes nothing: a mistyped --config-dir must not become a new, empty folder.
      const path = configDirPath(options.configDir);
      if (!existsSync(path)) {
        if (options.json) console.log(JSON.stringify({ peers: [] }));
        else console.log(`No trusted peers yet: the config folder ${path} does not exist (no pairing was made with it; check --config-dir or PAIRGATE_CONFIG_DIR).`);
        return;
      }
      const list = new TrustedPeerStore(configDirOf(options)).list();
      if (options.json) {
        console.log(JSON.stringify({ peers: list }));
        return;
      }
      if (list.length === 0) console.log('No trusted peers yet. Pair with "pairgate lan offer" and "pairgate lan join".');
      // A name stored by an older version may hold what names may no longer hold (a bidi mark).
      for (const p of list) console.log(`${terminalText(p.name, MAX_NAME_BYTES)}  id ${p.deviceId}  key ${p.keySha256}  addresses ${p.addresses.join(', ') || '-'}  last seen ${whenWords(p.lastSeenAt)}`);
    });

  withConfigDir(peers.command('remove'))
    .description('stop trusting a peer (by device id, key pin or a 6+ character prefix, or name)')
    .argument('<peer>')
    .addOption(jsonOption)
    .addHelpText('after', `
Exit code: 0 when removed, 2 for a peer none matches (lan_unknown_peer) or a
name or prefix several match (lan_ambiguous_peer: give the id; an id starting
with - goes after --), a config folder that cannot be used or written
(lan_unsafe_config_dir, lan_config_dir_not_writable), a damaged peers.json
(lan_bad_peers_file) or one that cannot be read (lan_peers_file_unreadable);
1 when peers.json stays locked by another pairgate command
(lan_peers_file_busy).`)
    .action(async (selector: string, options: CommonLanOptions) => {
      const removed = await new TrustedPeerStore(configDirOf(options)).remove(selector);
      console.log(options.json ? JSON.stringify({ removed }) : `Removed "${terminalText(removed.name, MAX_NAME_BYTES)}" (id ${removed.deviceId}).`);
    });
}
