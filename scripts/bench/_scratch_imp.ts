import "commander";
setTimeout(() => { console.log(Deno.readTextFileSync("/proc/self/status").match(/VmHWM.*/)[0]); }, 500);
