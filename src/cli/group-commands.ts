/** `offload group save | list | show | rm`: endpoint groups for push, over the public API. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidOptionError } from '../core/errors.js';
import type { Offload } from '../offload.js';
import type { EndpointGroupView } from '../push/push-service.js';
import { type Output, table } from './output.js';

export interface GroupCommandContext {
  output(): Output;
  withOffload<T>(fn: (offload: Offload) => Promise<T>): Promise<T>;
}

export function addGroupCommands(program: Command, ctx: GroupCommandContext): void {
  const group = program.command('group').description('endpoint groups: HTTP endpoints that the jobs of their tasks are pushed to');

  group
    .command('save')
    .description('save an endpoint group from a JSON file (replacing the one of its name) and bind its tasks to it')
    .argument('<file>', 'a JSON file with one group: { name, endpoints, tasks, secret, … }')
    .action(async (file: string) =>
      ctx.withOffload(async (offload) => {
        let settings: unknown;
        try {
          settings = JSON.parse(readFileSync(file, 'utf8'));
        } catch (err) {
          throw new InvalidOptionError('file', `cannot read ${file} as JSON (${(err as Error).message})`);
        }
        print(ctx.output(), [await offload.push.saveGroup(settings as never)], true);
      }),
    );

  group
    .command('list')
    .description('every endpoint group, with what is outstanding at each endpoint')
    .action(async () => ctx.withOffload(async (offload) => print(ctx.output(), await offload.push.groups(), false)));

  group
    .command('show')
    .description('one endpoint group')
    .argument('<name>')
    .action(async (name: string) => ctx.withOffload(async (offload) => print(ctx.output(), [await offload.push.getGroup(name)], true)));

  group
    .command('rm')
    .description('remove an endpoint group; its tasks are unbound, so pull workers may claim them again')
    .argument('<name>')
    .action(async (name: string) =>
      ctx.withOffload(async (offload) => {
        await offload.push.removeGroup(name);
        const o = ctx.output();
        o.out(o.json ? JSON.stringify({ removed: name }) : `Removed endpoint group ${name}.`);
      }),
    );
}

/** `one`: a command about one group prints `{ group }` as JSON, a listing `{ groups }`. */
function print(o: Output, views: EndpointGroupView[], one: boolean): void {
  if (o.json) return o.out(JSON.stringify(one ? { group: views[0] } : { groups: views }, null, 2));
  if (views.length === 0) return o.out('No endpoint groups. Save one with `offload group save FILE`.');
  for (const v of views) {
    const g = v.group;
    o.out(`${g.name}: ${g.balancer}, at most ${g.concurrency} at once, tasks ${g.tasks.join(', ')}`);
    o.out(
      table(
        ['ENDPOINT', 'URL', 'WEIGHT', 'CAP', 'OUTSTANDING'],
        g.endpoints.map((e) => [e.id, e.url, String(e.weight), e.concurrency === null ? '-' : String(e.concurrency), String(v.outstanding[e.id] ?? 0)]),
      ),
    );
  }
}
