import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, type Instruction } from './index.js';

const one = <K extends Instruction['kind']>(line: string, kind: K): Instruction & { kind: K } => {
  const df = parseDockerfile(`FROM base\n${line}\n`, 'Dockerfile');
  const ins = df.instructions[1]!;
  assert.equal(ins.kind, kind, line);
  return ins as Instruction & { kind: K };
};

test('FROM: image, AS name (any case, lowercased), --platform', () => {
  const f = one('FROM --platform=$BUILDPLATFORM golang:1.22 As Builder-1.x_y', 'FROM');
  assert.deepEqual([f.image, f.stageName, f.flags], ['golang:1.22', 'builder-1.x_y', { platform: ['$BUILDPLATFORM'] }]);
  const plain = one('FROM scratch', 'FROM');
  assert.equal(plain.stageName, undefined);
  assert.equal('stageName' in plain, false);
});

test('RUN: flags before the command; mount is repeatable', () => {
  const r = one('RUN --mount=type=cache,target=/a --mount="type=secret,id=x" --network=none --security=insecure make', 'RUN');
  assert.deepEqual(r.flags, {
    mount: ['type=cache,target=/a', 'type=secret,id=x'],
    network: ['none'],
    security: ['insecure'],
  });
  assert.deepEqual([r.form, r.cmd], ['shell', ['make']]);
  assert.deepEqual(one('RUN -- --not-a-flag', 'RUN').cmd, ['--not-a-flag']);
  assert.deepEqual(one('RUN echo --mount=x', 'RUN').flags, {});
});

test('COPY: flags, raw quote-aware words, JSON form, last word is dest', () => {
  const c = one('COPY --from=build --chown=1000:1000 --chmod=755 --link --parents --exclude=*.md --exclude=.git "a b" $SRC/c ./dst/', 'COPY');
  assert.deepEqual(c.flags, {
    from: ['build'],
    chown: ['1000:1000'],
    chmod: ['755'],
    link: ['true'],
    parents: ['true'],
    exclude: ['*.md', '.git'],
  });
  assert.deepEqual([c.sources, c.dest, c.heredocs], [['"a b"', '$SRC/c'], './dst/', []]);
  const j = one('COPY ["src dir/", "dest dir/"]', 'COPY');
  assert.deepEqual([j.sources, j.dest], [['src dir/'], 'dest dir/']);
  assert.deepEqual(one('COPY --link=false a b', 'COPY').flags, { link: ['false'] });
  assert.deepEqual(one('COPY --link=TRUE a b', 'COPY').flags, { link: ['true'] });
  assert.deepEqual(one('ADD \\conf\\\\" /.znc', 'ADD').sources, ['\\conf\\\\"'], 'open quote: BuildKit blank split');
});

test('ADD: its own flags', () => {
  const a = one('ADD --checksum=sha256:abc --keep-git-dir --unpack=false --chown=a --chmod=600 --link --exclude=x https://x/y.tar /z', 'ADD');
  assert.equal(a.kind, 'ADD');
  assert.deepEqual(a.flags, {
    checksum: ['sha256:abc'],
    'keep-git-dir': ['true'],
    unpack: ['false'],
    chown: ['a'],
    chmod: ['600'],
    link: ['true'],
    exclude: ['x'],
  });
  assert.deepEqual([a.sources, a.dest], [['https://x/y.tar'], '/z']);
});

test('ENV and LABEL: key=value pairs keep raw values; legacy form keeps the rest of the line', () => {
  const e = one('ENV a=1 b="two words" c=x\\ y d= e=\'$q\'', 'ENV');
  assert.deepEqual(e.pairs, [
    { key: 'a', value: '1' },
    { key: 'b', value: '"two words"' },
    { key: 'c', value: 'x\\ y' },
    { key: 'd', value: '' },
    { key: 'e', value: "'$q'" },
  ]);
  assert.deepEqual(one('ENV PATH /usr/local/bin:$PATH  and more', 'ENV').pairs, [
    { key: 'PATH', value: '/usr/local/bin:$PATH  and more' },
  ]);
  const l = one('LABEL "com.example.vendor"="ACME Inc" version=1.0 description="multi \\\n  line"', 'LABEL');
  assert.deepEqual(l.pairs, [
    { key: '"com.example.vendor"', value: '"ACME Inc"' },
    { key: 'version', value: '1.0' },
    { key: 'description', value: '"multi   line"' },
  ]);
  assert.deepEqual(one('LABEL maintainer Erik <e@x.org>', 'LABEL').pairs, [{ key: 'maintainer', value: 'Erik <e@x.org>' }]);
});

test('ARG: names with optional raw defaults, several per line', () => {
  const a = one('ARG A B=2 C="x y" D=', 'ARG');
  assert.deepEqual(a.args, [{ name: 'A' }, { name: 'B', defaultValue: '2' }, { name: 'C', defaultValue: '"x y"' }, { name: 'D', defaultValue: '' }]);
});

test('WORKDIR, USER, STOPSIGNAL, MAINTAINER take the whole argument text', () => {
  assert.equal(one('WORKDIR /app/$NAME', 'WORKDIR').path, '/app/$NAME');
  assert.equal(one('USER 1000:1000', 'USER').user, '1000:1000');
  assert.equal(one('STOPSIGNAL SIGKILL', 'STOPSIGNAL').signal, 'SIGKILL');
  assert.equal(one('MAINTAINER Jane Doe <jane@example.com>', 'MAINTAINER').name, 'Jane Doe <jane@example.com>');
});

test('EXPOSE and VOLUME: words, VOLUME also JSON', () => {
  assert.deepEqual(one('EXPOSE 80/tcp  443 ${PORT}', 'EXPOSE').ports, ['80/tcp', '443', '${PORT}']);
  assert.deepEqual(one('VOLUME /data /logs', 'VOLUME').paths, ['/data', '/logs']);
  assert.deepEqual(one('VOLUME ["/data", " /with space "]', 'VOLUME').paths, ['/data', '/with space']);
});

test('SHELL: JSON form', () => {
  assert.deepEqual(one('SHELL ["powershell", "-command"]', 'SHELL').shell, ['powershell', '-command']);
});

test('HEALTHCHECK: NONE, CMD shell and exec forms, durations in ns, retries', () => {
  assert.deepEqual(one('HEALTHCHECK NONE', 'HEALTHCHECK').test, ['NONE']);
  assert.deepEqual(one('healthcheck none', 'HEALTHCHECK').test, ['NONE']);
  const h = one(
    'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2.5s --start-interval=1h --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1',
    'HEALTHCHECK',
  );
  assert.deepEqual(h.test, ['CMD-SHELL', 'curl -f http://localhost/ || exit 1']);
  assert.deepEqual([h.interval, h.timeout, h.startPeriod, h.startInterval, h.retries], [90e9, 500e6, 2.5e9, 3600e9, 3]);
  const e = one('HEALTHCHECK cmd ["/bin/check", "--quiet"]', 'HEALTHCHECK');
  assert.deepEqual(e.test, ['CMD', '/bin/check', '--quiet']);
  assert.equal(e.interval, undefined);
  assert.equal(e.retries, undefined);
  const z = one('HEALTHCHECK --interval=0s --retries=1 CMD true', 'HEALTHCHECK');
  assert.deepEqual([z.interval, z.retries], [0, 1]);
});

test('ONBUILD: the trigger is parsed, the expression kept', () => {
  const o = one('ONBUILD  COPY --chown=1 . /app', 'ONBUILD');
  assert.equal(o.expression, 'COPY --chown=1 . /app');
  assert.equal(o.trigger.kind, 'COPY');
  assert.deepEqual(o.trigger.flags, { chown: ['1'] });
  assert.deepEqual(o.flags, {});
  const r = one('onbuild run ["make"]', 'ONBUILD');
  assert.equal(r.expression, 'run ["make"]');
  assert.equal(r.trigger.kind, 'RUN');
});

test('flags may be quoted or escaped; bare -- ends them', () => {
  const c = one('COPY --from="my stage" --chown=a\\ b -- --weird-name /d', 'COPY');
  assert.deepEqual(c.flags, { from: ['my stage'], chown: ['a b'] });
  assert.deepEqual(c.sources, ['--weird-name']);
});
